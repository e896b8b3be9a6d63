"""The SLA timer tick: fire every due timer exactly once, also with several workers, and catch
up after downtime (anything due at or before `now` fires, however late).

Exactly once: a timer leaves `pending` in the same transaction as its action (stage move,
reassignment, outbox notification). On PostgreSQL the due rows are claimed with
`SELECT … FOR UPDATE SKIP LOCKED`, so a second worker takes other rows instead of waiting; a
lead (or queue) row that a live request holds is skipped too and retried next tick, so the tick
never waits on, or deadlocks with, the capture path. On SQLite `BEGIN IMMEDIATE` serialises
writers. Each timer runs in a savepoint: one that fails is marked `failed` with the reason and
kept, the others go on.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from marketops.errors import MarketopsError
from marketops.lifecycle.service import apply_move, lock_lead
from marketops.ops.calendars.models import BUILTIN_24X7
from marketops.routing.service import lock_queue, reassign_locked
from marketops.services.context import AppContext
from marketops.store.schema import activities
from marketops.store.tables_lifecycle import sla_timers

log = logging.getLogger("marketops.lifecycle")

BATCH = 200


def _claim(conn: Connection, stmt: Any) -> list[Any]:
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return conn.execute(stmt).all()


def resolve_due(ctx: AppContext, now: datetime) -> int:
    """Compute `due_at` for timers the pipeline wrote without it (calendar arithmetic)."""
    cals = ctx.config.routing.calendars
    with ctx.engine.begin() as conn:
        rows = _claim(
            conn,
            select(
                sla_timers.c.id,
                sla_timers.c.calendar,
                sla_timers.c.started_at,
                sla_timers.c.after_s,
            )
            .where(sla_timers.c.status == "pending", sla_timers.c.due_at.is_(None))
            .order_by(sla_timers.c.id)
            .limit(BATCH * 5),
        )
        for r in rows:
            cal = cals.get(r.calendar) or cals[BUILTIN_24X7]
            due = cal.add_business_time(r.started_at, timedelta(seconds=r.after_s))
            conn.execute(update(sla_timers).where(sla_timers.c.id == r.id).values(due_at=due))
    return len(rows)


def _notify(
    conn: Connection,
    ctx: AppContext,
    t: Any,
    lead: Any,
    spec: Any,
    to: str,
    now: datetime,
    kind: str,
) -> dict[str, Any]:
    from marketops.notify.outbox import enqueue

    payload = {
        "event": f"sla.{kind}",
        "sla": t.sla,
        "step": t.step,
        "lead_id": lead.id,
        "stage": lead.lifecycle_stage,
        "owner": lead.owner,
        "queue": lead.queue,
        "started_at": t.started_at.isoformat(),
        "due_at": t.due_at.isoformat(),
        "fired_at": now.isoformat(),
        "text": f"SLA `{t.sla}` for lead {lead.id} ({lead.lifecycle_stage}, owner"
        f" {lead.owner or 'none'}): {spec.after} elapsed without a sales touch",
    }
    oid = enqueue(
        conn,
        channel=spec.channel,
        destination=to,
        payload=payload,
        idempotency_key=f"sla-timer:{t.id}",
        now=now,
        subject=f"[SLA {kind}] {t.sla}: lead {lead.id}",
    )
    return {"outbox_id": oid, "to": to, "channel": spec.channel}


def fire(conn: Connection, ctx: AppContext, t: Any, now: datetime) -> tuple[str, dict[str, Any]]:
    """Run one due timer inside the caller's transaction: (status, result)."""
    cfg = ctx.config
    sla = next((s for s in cfg.lifecycle.slas if s.name == t.sla), None)
    if sla is None or t.step >= len(sla.timers):
        return "cancelled", {"reason": f"SLA {t.sla} is no longer in lifecycle.yml"}
    spec = sla.timers[t.step]
    lead = lock_lead(conn, t.lead_id, skip_locked=True)
    if lead is None:
        return "busy", {}
    if lead.lifecycle_stage != t.stage:
        return "cancelled", {"reason": f"lead left {t.stage}"}
    if t.owner is not None and lead.owner != t.owner:
        return "cancelled", {"reason": f"owner changed from {t.owner}"}
    if sla.stop_on:
        touched = conn.execute(
            select(activities.c.id)
            .where(
                activities.c.lead_id == lead.id,
                activities.c.type.in_(sla.stop_on),
                activities.c.occurred_at >= t.started_at,
            )
            .limit(1)
        ).scalar()
        if touched is not None:
            return "stopped", {"stopped_by_activity": touched}
    actor = f"sla:{t.sla}"
    if spec.action == "notify":
        to = spec.to or "owner"
        if to == "owner":
            if not lead.owner:
                return "failed", {"error": "the lead has no owner to notify"}
            to = f"owner:{lead.owner}"
        elif to == "manager":
            found = cfg.routing.config.member(lead.owner) if cfg.routing.config else None
            if found is None or not found[1].manager:
                return "failed", {"error": f"owner {lead.owner} has no manager in routing.yml"}
            to = f"owner:{found[1].manager}"
        return "fired", _notify(conn, ctx, t, lead, spec, to, now, "breach")
    if spec.action == "escalate":
        found = cfg.routing.config.member(lead.owner) if cfg.routing.config else None
        manager = found[1].manager if found else None
        if not manager:
            return "failed", {"error": f"owner {lead.owner} has no manager in routing.yml"}
        return "fired", _notify(
            conn, ctx, t, lead, spec, spec.to or f"owner:{manager}", now, "escalation"
        ) | {"manager": manager}
    if spec.action == "reassign":
        if lead.queue and not lock_queue(conn, lead.queue):
            return "busy", {}
        reason = spec.reason or f"SLA {t.sla}: no sales touch within {spec.after}"
        return "fired", reassign_locked(conn, cfg, lead, actor=actor, reason=reason, now=now)
    # move
    reason = spec.reason or f"SLA {t.sla}: {spec.after} in {t.stage}"
    moved = apply_move(
        conn, cfg, lead, spec.to, actor=actor, actor_kind="rule", reason=reason, now=now
    )
    return "fired", {"moved": {"from": moved["from"], "to": moved["to"]}}


def sla_tick(ctx: AppContext, now: datetime) -> int:
    """One tick: resolve missing due times, then fire up to BATCH due timers. Returns count."""
    handled = resolve_due(ctx, now)
    with ctx.engine.begin() as conn:
        due = _claim(
            conn,
            select(sla_timers)
            .where(sla_timers.c.status == "pending", sla_timers.c.due_at <= now)
            .order_by(sla_timers.c.due_at, sla_timers.c.id)
            .limit(BATCH),
        )
        for t in due:
            try:
                with conn.begin_nested():
                    status, result = fire(conn, ctx, t, now)
                    if status == "busy":
                        continue
                    _finish(conn, t.id, status, result, now)
            except Exception as exc:
                if not isinstance(exc, MarketopsError):
                    log.warning("sla timer %s failed: %s", t.id, type(exc).__name__)
                with conn.begin_nested():
                    _finish(conn, t.id, "failed", {"error": f"{type(exc).__name__}: {exc}"}, now)
            handled += 1
    if handled:
        log.info("sla tick: %d timer(s) handled", handled)
    return handled


def _finish(
    conn: Connection, timer_id: int, status: str, result: dict[str, Any], now: datetime
) -> None:
    # no status condition: the action may have cancelled its own lead's pending timers (this one
    # included); the claim's row lock (or SQLite's write lock) makes this row ours until commit
    conn.execute(
        update(sla_timers)
        .where(sla_timers.c.id == timer_id)
        .values(status=status, resolved_at=now, result=result)
    )
