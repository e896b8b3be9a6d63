"""Score stage: fit (who they are) and engagement (what they did, decayed over time).

Each group sums its rules, then is clamped to its cap (positive) and floor (negative). Every point
is kept as a reason so a score can always be explained.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from marketops.pipeline.records import ScoreResult
from marketops.workspace.conditions import compile_condition
from marketops.workspace.models import Scoring

FitRules = list[tuple[str, float, Callable[[Mapping[str, Any]], bool]]]
# a fit group's answer for one lead: its clamped points and its reasons
GroupScore = tuple[float, tuple[dict[str, Any], ...]]

EngagementPlan = tuple[
    str, float | None, float | None, tuple[tuple[str, float, str, int | None], ...]
]

MEMO_MAX = 4096  # answers kept per fit group (per process, per compiled config)
MEMO_ALL_MAX = 1 << 15  # whole fit answers kept (a few hundred bytes each: shared reasons)


@dataclass(frozen=True)
class CompiledScoring:
    config: Scoring
    fit: list[tuple[str, float | None, float | None, FitRules]]  # (group, cap, floor, rules)
    # per fit group (`config.fit`, in order): the fields its rules read, and its answers by
    # their values: a group's points depend on those alone, and few leads differ there
    # (titles, sizes, industries, countries, flags)
    reads: list[tuple[str, ...]] = field(init=False, compare=False)
    memo: list[dict[tuple[Any, ...], GroupScore]] = field(init=False, compare=False)
    # the whole fit answer (all groups) by the values of every field any group reads: one
    # lookup a lead where the groups take one each; a miss falls back to the groups' memos
    reads_all: tuple[str, ...] = field(init=False, compare=False)
    memo_all: dict[tuple[Any, ...], GroupScore] = field(init=False, compare=False)

    # engagement groups as plain tuples: (group, cap, floor, rules as (activity, points, the
    # reason's rule name, max_times)); read per lead, cheaper than the models' attributes
    engagement: list[EngagementPlan] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        reads = [tuple(dict.fromkeys(r.field for r in g.rules)) for g in self.config.fit]
        object.__setattr__(self, "reads", reads)
        object.__setattr__(self, "memo", [{} for _ in reads])
        object.__setattr__(self, "reads_all", tuple(dict.fromkeys(f for r in reads for f in r)))
        object.__setattr__(self, "memo_all", {})
        engagement = [
            (
                g.name,
                g.cap,
                g.floor,
                tuple((r.activity, r.points, r.name or r.activity, r.max_times) for r in g.rules),
            )
            for g in self.config.engagement
        ]
        object.__setattr__(self, "engagement", engagement)


def compile_scoring(cfg: Scoring) -> CompiledScoring:
    fit = []
    for g in cfg.fit:
        rules = [(r.name or r.describe(), r.points, compile_condition(r)) for r in g.rules]
        fit.append((g.name, g.cap, g.floor, rules))
    return CompiledScoring(cfg, fit)


def _group(
    view: Mapping[str, Any], group: str, cap: float | None, floor: float | None, rules: FitRules
) -> GroupScore:
    raw = 0.0
    reasons: list[dict[str, Any]] = []
    for name, points, pred in rules:
        if pred(view):
            raw += points
            reasons.append({"kind": "fit", "group": group, "rule": name, "points": points})
    clamped = _clamp(raw, cap, floor)
    if clamped != raw:
        reasons.append({"kind": "fit", "group": group, "rule": "cap", "points": clamped - raw})
    return clamped, tuple(reasons)


def _memoized(
    memo: dict[tuple[Any, ...], GroupScore],
    key: tuple[Any, ...],
    limit: int,
    compute: Callable[..., GroupScore],
    *args: Any,
) -> GroupScore:
    """`compute(*args)`, remembered under `key` (the values the answer reads; values equal as
    keys — 1, 1.0, True — give every condition operator the same answer) while `memo` holds
    fewer than `limit`; an unhashable value in the key (a list from JSON): computed, no memo."""
    try:
        hit = memo.get(key)
    except TypeError:
        return compute(*args)
    if hit is None:
        hit = compute(*args)
        if len(memo) < limit:
            memo[key] = hit
    return hit


def _fit(view: Mapping[str, Any], scoring: CompiledScoring, reasons: list[dict[str, Any]]) -> float:
    """Sum of the fit groups; their reasons appended (copies: a memo's answer is shared)."""
    key = tuple(map(view.get, scoring.reads_all))
    hit = _memoized(scoring.memo_all, key, MEMO_ALL_MAX, _groups, view, scoring)
    if hit[1]:
        reasons += [dict(r) for r in hit[1]]
    return hit[0]


def _groups(view: Mapping[str, Any], scoring: CompiledScoring) -> GroupScore:
    """Every fit group's points summed, with their reasons, each group from its own memo."""
    total, reasons = 0.0, []
    get = view.get
    for (group, cap, floor, rules), fields, memo in zip(
        scoring.fit, scoring.reads, scoring.memo, strict=True
    ):
        key = tuple(map(get, fields))
        hit = _memoized(memo, key, MEMO_MAX, _group, view, group, cap, floor, rules)
        total += hit[0]
        reasons += hit[1]
    return total, tuple(reasons)


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
    fit_total = _fit(view, scoring, reasons)

    half_life = scoring.config.decay.half_life_days
    by_type: dict[str, list[datetime]] = {}
    for kind, at in activities:
        if kind in by_type:
            by_type[kind].append(at)
        else:
            by_type[kind] = [at]
    engagement_total = 0.0
    for group, cap, floor, rules in scoring.engagement:
        raw = 0.0
        for activity, points, rule, max_times in rules:
            times = by_type.get(activity)
            if not times:
                continue
            if len(times) > 1:
                times = sorted(times, reverse=True)
                if max_times:
                    times = times[:max_times]
            for t in times:
                age_days = max((now - t).total_seconds() / 86400, 0.0)
                factor = 0.5 ** (age_days / half_life) if half_life else 1.0
                pts = points * factor
                raw += pts
                reasons.append(
                    {
                        "kind": "engagement",
                        "group": group,
                        "rule": rule,
                        "points": round(pts, 2),
                        "age_days": round(age_days, 1),
                    }
                )
        clamped = _clamp(raw, cap, floor)
        if clamped != raw:
            reasons.append(
                {
                    "kind": "engagement",
                    "group": group,
                    "rule": "cap",
                    "points": round(clamped - raw, 2),
                }
            )
        engagement_total += clamped
    fit_total = round(fit_total, 2)
    engagement_total = round(engagement_total, 2)
    return ScoreResult(fit_total, engagement_total, round(fit_total + engagement_total, 2), reasons)
