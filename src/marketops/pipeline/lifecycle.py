"""Lifecycle stage: the initial stage of new leads and the move to MQL when the score passes."""

from __future__ import annotations

from marketops.workspace.models import Lifecycle


def next_stage(
    current: str | None, total_score: float, threshold: float, lifecycle: Lifecycle
) -> tuple[str, str | None]:
    """(stage, reason if it changed)."""
    stage = current or lifecycle.initial
    reason = None if current else "created"
    if total_score >= threshold and stage in lifecycle.mql_from:
        return lifecycle.mql_stage, f"score {total_score:g} reached the MQL threshold {threshold:g}"
    return stage, reason
