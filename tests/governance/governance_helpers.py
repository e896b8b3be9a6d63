"""Helpers for the change-control tests: seed the real store with leads and activities, and a
reference replay that calls the pipeline's functions directly (no memo, no shortcuts)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert

from marketops.governance.backtest import SUPPRESSED, UNROUTED, HistoryLead, RuleSet
from marketops.pipeline.lifecycle import next_stage
from marketops.pipeline.route import route
from marketops.pipeline.score import score
from marketops.store.schema import activities, leads

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def seed(engine: Engine, people: Sequence[dict[str, Any]]) -> None:
    """Each person: id, email and lead columns, plus `acts`: [(type, time, message)]."""
    rows, acts = [], []
    for p in people:
        p = dict(p)
        events = p.pop("acts")
        rows.append(
            {
                "lifecycle_stage": "Known",
                "fit_score": 0,
                "engagement_score": 0,
                "total_score": 0,
                "suppressed": False,
                "flags": {},
                "warnings": [],
                "attributes": {},
                "consent": {},
                "created_at": events[0][1],
                "updated_at": events[-1][1],
                **p,
            }
        )
        for n, (kind, at, message) in enumerate(events):
            acts.append(
                {
                    "lead_id": p["id"],
                    "type": kind,
                    "occurred_at": at,
                    "source_ref": f"{p['id']}:{n}",
                    "details": {"message": message},
                }
            )
    with engine.begin() as conn:
        conn.execute(insert(leads), rows)
        conn.execute(insert(activities), acts)


def reference_replay(lead: HistoryLead, rules: RuleSet) -> tuple[float, str, Any, str]:
    """What the pipeline decides touch by touch, straight from its functions."""
    stage = None
    mql_at = None
    result = None
    for i, (_, t) in enumerate(lead.activities):
        result = score(lead.view, lead.activities[: i + 1], rules.scoring, t)
        stage, _ = next_stage(
            stage, result.total, rules.scoring.config.mql_threshold, rules.lifecycle
        )
        if mql_at is None and stage == rules.lifecycle.mql_stage:
            mql_at = t
    assert result is not None and stage is not None
    if lead.suppressed:
        return result.total, stage, mql_at, SUPPRESSED
    view = {
        **lead.view,
        "lifecycle_stage": stage,
        "total_score": result.total,
        "fit_score": result.fit,
        "engagement_score": result.engagement,
    }
    a = route(view, rules.routing, accounts=rules.accounts)
    return result.total, stage, mql_at, UNROUTED if a is None else a.queue or f"owner:{a.owner}"
