"""The weekly scorecard job: build it once per ISO week and hand it to the outbox.

Safe with several workers: the (report, period) row and the outbox messages are written in one
transaction, the row's primary key lets only one worker win, and the outbox ignores duplicate
idempotency keys anyway. A worker that was down at the send time sends on its next tick that week.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from marketops.reports.scorecard import build_scorecard, plain_text, schedule, scorecard_period
from marketops.store.tables_web import report_runs

log = logging.getLogger(__name__)
JOB_NAME = "reports.scorecard"
INTERVAL_S = 900.0


def scorecard_tick(ctx: Any, now: datetime) -> int:
    """Enqueue this week's scorecard if it is due and not yet sent; returns messages enqueued."""
    sched = schedule(ctx)
    if not sched.enabled or not sched.recipients:
        return 0
    period = scorecard_period(now, sched, ctx.workspace.settings.timezone)
    if period is None:
        return 0
    with ctx.engine.connect() as conn:
        done = conn.execute(
            select(report_runs.c.period).where(
                report_runs.c.report == "scorecard", report_runs.c.period == period
            )
        ).first()
    if done is not None:
        return 0
    from marketops.notify.outbox import enqueue  # the notifications capability

    html = build_scorecard(ctx, now) if sched.channel == "email" else ""
    text = plain_text(ctx, now)
    try:
        with ctx.engine.begin() as conn:
            conn.execute(
                insert(report_runs).values(
                    report="scorecard",
                    period=period,
                    recipients=len(sched.recipients),
                    created_at=now,
                )
            )
            payload = {"text": text, "report": "scorecard", "period": period}
            if sched.channel == "email":  # chat and webhooks get the text; mail gets the file too
                payload["html"] = html
            for dest in sched.recipients:
                enqueue(
                    conn,
                    channel=sched.channel,
                    destination=dest,
                    payload=payload,
                    idempotency_key=f"scorecard:{period}:{dest}",
                    now=now,
                    subject=f"{sched.subject} ({period})",
                )
    except IntegrityError:
        return 0  # another worker sent this period's scorecard first
    log.info("scorecard %s enqueued for %d recipient(s)", period, len(sched.recipients))
    return len(sched.recipients)


def _register() -> None:
    try:
        from marketops.worker.jobs import register_job
    except ImportError:  # the worker capability is not installed
        return
    register_job(JOB_NAME, scorecard_tick, INTERVAL_S)


_register()
