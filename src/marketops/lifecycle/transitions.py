"""The lifecycle state machine (pure): is a move allowed, and what does the history say.

Allowed moves are the `transitions` of lifecycle.yml. A move into a `recycle` stage or back up the
funnel is first-class but needs a reason, so the history always says why a lead went backward.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from marketops.errors import MarketopsError, Problem
from marketops.workspace.models import Lifecycle


def check_move(lifecycle: Lifecycle, src: str, dst: str, reason: str | None) -> bool:
    """Raise MarketopsError for a refused move; returns whether it is a backward move."""
    if dst not in lifecycle.stages:
        raise MarketopsError(
            f"unknown stage {dst!r}",
            [Problem("to", f"{dst!r} is not a stage", f"stages: {', '.join(lifecycle.stages)}")],
        )
    if src == dst:
        raise MarketopsError(
            f"the lead is already in {dst}",
            [Problem("to", f"already {dst}", "nothing to do")],
        )
    if not lifecycle.allowed(src, dst):
        allowed = sorted({s for t in lifecycle.transitions if t.from_ == src for s in t.to})
        raise MarketopsError(
            f"moving from {src} to {dst} is not allowed",
            [
                Problem(
                    "to",
                    f"{src} -> {dst} is not a declared transition",
                    f"from {src} a lead may move to: {', '.join(allowed) or 'nowhere'}"
                    " (transitions in lifecycle.yml)",
                )
            ],
        )
    backward = lifecycle.is_backward(src, dst)
    if backward and not (reason and reason.strip()):
        raise MarketopsError(
            f"moving back from {src} to {dst} needs a reason",
            [Problem("reason", "missing", "say why, e.g. 'no budget this year'")],
        )
    return backward


@dataclass(frozen=True)
class StageSpan:
    stage: str
    entered_at: datetime
    left_at: datetime | None  # None: the current stage
    actor: str
    reason: str | None

    def duration(self, now: datetime) -> timedelta:
        return (self.left_at or now) - self.entered_at


def stage_spans(events: Sequence[dict[str, Any]]) -> list[StageSpan]:
    """Stage periods from a lead's `stage` events (time order)."""
    spans: list[StageSpan] = []
    for e in events:
        if e["kind"] != "stage":
            continue
        data = e["data"] or {}
        if spans:
            last = spans[-1]
            spans[-1] = StageSpan(last.stage, last.entered_at, e["at"], last.actor, last.reason)
        spans.append(StageSpan(data.get("to"), e["at"], None, e["actor"], data.get("reason")))
    return spans


def time_in_stage(spans: Sequence[StageSpan], now: datetime) -> dict[str, timedelta]:
    """Total time spent in each stage (a stage visited twice adds up)."""
    out: dict[str, timedelta] = {}
    for s in spans:
        out[s.stage] = out.get(s.stage, timedelta()) + s.duration(now)
    return out
