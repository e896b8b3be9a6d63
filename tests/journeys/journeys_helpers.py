"""Helpers for journey tests: write a journey file, capture leads, drive time with a clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

from marketops.services.leads import capture_one
from marketops.store.tables_journeys import journey_enrolments, journey_step_runs
from marketops.store.tables_notify import outbox

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in New York


class Clock:
    """An injectable clock: the worker and the services read it; the test moves it."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


def write_journey(workspace: Path, name: str, body: dict[str, Any]) -> Path:
    path = workspace / "journeys" / f"{name}.yml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def lead(ctx, email: str, now: datetime, **extra: Any) -> str:
    status, body = capture_one(ctx, {"email": email, **extra}, now)
    assert status in (200, 201), body
    return body["id"]


def runs(ctx, journey: str | None = None) -> list[dict[str, Any]]:
    q = select(journey_step_runs).order_by(journey_step_runs.c.id)
    if journey:
        q = q.where(journey_step_runs.c.journey == journey)
    with ctx.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def enrolment(ctx, journey: str, lead_id: str) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        row = conn.execute(
            select(journey_enrolments)
            .where(journey_enrolments.c.journey == journey, journey_enrolments.c.lead_id == lead_id)
            .order_by(journey_enrolments.c.id.desc())
        ).first()
    assert row is not None, f"{lead_id} never entered {journey}"
    return dict(row._mapping)


def outbox_rows(ctx) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(outbox).order_by(outbox.c.id))]


def duplicated_steps(ctx) -> int:
    """(enrolment, step, attempt) rows beyond the first: must be 0."""
    with ctx.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(journey_step_runs)).scalar_one()
        distinct = conn.execute(
            select(func.count()).select_from(
                select(
                    journey_step_runs.c.enrolment_id,
                    journey_step_runs.c.step,
                    journey_step_runs.c.attempt,
                )
                .distinct()
                .subquery()
            )
        ).scalar_one()
    return int(total - distinct)
