"""Worker job: alert the MOPS team (catalog `notify.team`) when a request's SLA clock breaches.

One tick evaluates the clocks of every open request as of `now` and writes one outbox message per
breached cycle. The message's idempotency key names the request, goal and cycle, so a second
worker, or the next tick, never sends it twice; the tick counts only messages not yet in the
outbox, so an idle worker does not spin on old breaches.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from marketops.ops.intake.states import CLOSED_STATES


def sla_breach_tick(ctx: Any, now: dt.datetime) -> int:
    from marketops.ops.intake.metrics import request_sla
    from marketops.ops.intake.notify import breach_message, enqueue_all
    from marketops.ops.intake.repo import load_moves
    from marketops.ops.intake.service import request_record
    from marketops.ops.intake.setup import intake_setup
    from marketops.store.tables_intake import intake_requests
    from marketops.store.tables_notify import outbox

    setup = intake_setup(ctx.workspace)
    settings = setup.catalog.notify
    if settings.team is None or not settings.team.sla_breach:
        return 0
    r = intake_requests
    with ctx.engine.connect() as conn:
        rows = [
            dict(m)
            for m in conn.execute(select(r).where(r.c.state.not_in(CLOSED_STATES))).mappings()
        ]
        moves = load_moves(conn, [row["id"] for row in rows]) if rows else {}
    messages = []
    for row in rows:
        record = request_record(setup, row, moves.get(row["id"], []))
        for status in request_sla(record, setup.goals_for(row["class"]), now):
            for cycle in status.cycles:
                if cycle.breached and cycle.breach_at is not None and cycle.breach_at <= now:
                    message = breach_message(settings, row, status.goal, cycle)
                    if message is not None:
                        messages.append(message)
    if not messages:
        return 0
    with ctx.engine.begin() as conn:
        keys = [m.idempotency_key for m in messages]
        known = set(
            conn.execute(
                select(outbox.c.idempotency_key).where(outbox.c.idempotency_key.in_(keys))
            ).scalars()
        )
        return enqueue_all(conn, [m for m in messages if m.idempotency_key not in known], now)


def _register() -> None:
    try:
        from marketops.worker.jobs import register_job
    except ImportError:  # a build without the worker
        return
    register_job("intake-sla-breaches", sla_breach_tick, interval_s=60)


_register()
