"""Registers the scheduled health check with the worker (`marketops worker`).

With `schedule_hours` in health.yml, the store is scored once per period. Several workers may
tick at once: each period is claimed by inserting its row into `health_schedule` (primary key,
`ON CONFLICT DO NOTHING`), and only the worker whose insert wins runs the check.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite

from marketops.store.tables_health import health_schedule
from marketops.worker.jobs import register_job

SOURCE = "store"


def period_start(now: datetime, hours: float) -> datetime:
    step = hours * 3600
    return datetime.fromtimestamp(now.timestamp() // step * step, UTC)


def claim(ctx, slot: str, now: datetime) -> bool:  # type: ignore[no-untyped-def]
    """True for the one caller whose insert of `slot` wins."""
    with ctx.engine.begin() as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = (
            dialect.insert(health_schedule)
            .values(slot=slot, claimed_at=now)
            .on_conflict_do_nothing(index_elements=["slot"])
            .returning(health_schedule.c.slot)
        )
        return conn.execute(stmt).scalar() is not None


def scheduled_health(ctx, now: datetime) -> int:  # type: ignore[no-untyped-def]
    """One tick: score the store if this period has no run yet; returns 1 if it ran."""
    from marketops.analytics.health.service import health_config, run_health

    hours = health_config(ctx.workspace).schedule_hours
    if hours is None:
        return 0
    slot = f"{SOURCE}@{period_start(now, hours).isoformat()}"
    if not claim(ctx, slot, now):
        return 0
    try:
        report = run_health(ctx, now)
    except Exception:
        with ctx.engine.begin() as conn:  # give the period back so a later tick retries
            conn.execute(delete(health_schedule).where(health_schedule.c.slot == slot))
        raise
    with ctx.engine.begin() as conn:
        conn.execute(
            update(health_schedule)
            .where(health_schedule.c.slot == slot)
            .values(run_id=report.run_id)
        )
    return 1


register_job("health", scheduled_health, interval_s=60.0)
