"""Score stage: fit (who they are) and engagement (what they did, decayed over time).

Each group sums its rules, then is clamped to its cap (positive) and floor (negative). Every point
is kept as a reason so a score can always be explained.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marketops.pipeline.records import ScoreResult
from marketops.workspace.conditions import compile_condition
from marketops.workspace.models import Scoring


@dataclass(frozen=True)
class CompiledScoring:
    config: Scoring
    fit: list[
        tuple[
            str,
            float | None,
            float | None,
            list[tuple[str, float, Callable[[Mapping[str, Any]], bool]]],
        ]
    ]


def compile_scoring(cfg: Scoring) -> CompiledScoring:
    fit = []
    for g in cfg.fit:
        rules = [(r.name or r.describe(), r.points, compile_condition(r)) for r in g.rules]
        fit.append((g.name, g.cap, g.floor, rules))
    return CompiledScoring(cfg, fit)


def _clamp(v: float, cap: float | None, floor: float | None) -> float:
    if cap is not None and v > cap:
        v = cap
    if floor is not None and v < -abs(floor):
        v = -abs(floor)
    return v


def score(
    view: Mapping[str, Any],
    activities: Sequence[tuple[str, datetime]],
    scoring: CompiledScoring,
    now: datetime,
) -> ScoreResult:
    reasons: list[dict[str, Any]] = []
    fit_total = 0.0
    for group, cap, floor, rules in scoring.fit:
        raw = 0.0
        for name, points, pred in rules:
            if pred(view):
                raw += points
                reasons.append({"kind": "fit", "group": group, "rule": name, "points": points})
        clamped = _clamp(raw, cap, floor)
        if clamped != raw:
            reasons.append({"kind": "fit", "group": group, "rule": "cap", "points": clamped - raw})
        fit_total += clamped

    half_life = scoring.config.decay.half_life_days
    by_type: dict[str, list[datetime]] = {}
    for kind, at in activities:
        by_type.setdefault(kind, []).append(at)
    engagement_total = 0.0
    for g in scoring.config.engagement:
        raw = 0.0
        for r in g.rules:
            times = by_type.get(r.activity)
            if not times:
                continue
            times = sorted(times, reverse=True)
            if r.max_times:
                times = times[: r.max_times]
            for t in times:
                age_days = max((now - t).total_seconds() / 86400, 0.0)
                factor = 0.5 ** (age_days / half_life) if half_life else 1.0
                pts = r.points * factor
                raw += pts
                reasons.append(
                    {
                        "kind": "engagement",
                        "group": g.name,
                        "rule": r.name or r.activity,
                        "points": round(pts, 2),
                        "age_days": round(age_days, 1),
                    }
                )
        clamped = _clamp(raw, g.cap, g.floor)
        if clamped != raw:
            reasons.append(
                {
                    "kind": "engagement",
                    "group": g.name,
                    "rule": "cap",
                    "points": round(clamped - raw, 2),
                }
            )
        engagement_total += clamped
    fit_total = round(fit_total, 2)
    engagement_total = round(engagement_total, 2)
    return ScoreResult(fit_total, engagement_total, round(fit_total + engagement_total, 2), reasons)
