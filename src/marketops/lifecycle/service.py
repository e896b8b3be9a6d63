"""Lifecycle use cases: move a lead, record a sales touch, read its stage history.

Each write is one transaction: the lead row (locked), its `stage` event, the SLA clocks it stops
and starts, and any notification (outbox) commit together or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from marketops.errors import MarketopsError, NotFound, Problem
from marketops.lifecycle.sla import plan_timers
from marketops.lifecycle.transitions import check_move, stage_spans, time_in_stage
from marketops.ops.calendars.timeparse import format_duration
from marketops.services.context import AppContext
from marketops.store.bulk import bulk_insert
from marketops.store.schema import activities, lead_events, leads
from marketops.store.tables_lifecycle import sla_timers

SALES_TOUCHES = ("call", "email", "meeting")


def lock_lead(conn: Connection, lead_id: str, *, skip_locked: bool = False) -> Any:
    """The lead row, locked for this transaction (PostgreSQL row lock; SQLite holds the write
    lock from BEGIN IMMEDIATE). With `skip_locked`, None when another transaction holds it."""
    stmt = select(leads).where(leads.c.id == lead_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=skip_locked)
    return conn.execute(stmt).first()


def cancel_timers(conn: Connection, lead_id: str, why: str, *, owned_only: bool = False) -> None:
    cond = [sla_timers.c.lead_id == lead_id, sla_timers.c.status == "pending"]
    if owned_only:
        cond.append(sla_timers.c.owner.is_not(None))
    conn.execute(update(sla_timers).where(*cond).values(status="cancelled", result={"reason": why}))


def apply_move(
    conn: Connection,
    cfg: Any,  # CompiledConfig
    lead: Any,
    dst: str,
    *,
    actor: str,
    actor_kind: str,
    reason: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Move a locked lead: check the transition, write the event, restart its SLA clocks."""
    src = lead.lifecycle_stage
    backward = check_move(cfg.lifecycle, src, dst, reason)
    conn.execute(
        update(leads).where(leads.c.id == lead.id).values(lifecycle_stage=dst, updated_at=now)
    )
    data = {"from": src, "to": dst, "reason": reason, "backward": backward, "by": actor_kind}
    conn.execute(
        insert(lead_events).values(lead_id=lead.id, at=now, kind="stage", actor=actor, data=data)
    )
    cancel_timers(conn, lead.id, f"moved to {dst}")
    timers = plan_timers(
        cfg.lifecycle,
        cfg.routing.config,
        cfg.routing.calendars,
        lead_id=lead.id,
        stage=dst,
        prev_stage=src,
        owner=lead.owner,
        prev_owner=lead.owner,
        queue=lead.queue,
        actor_kind=actor_kind,
        now=now,
    )
    bulk_insert(conn, sla_timers, timers)
    return {
        "id": lead.id,
        "from": src,
        "to": dst,
        "backward": backward,
        "actor": actor,
        "reason": reason,
        "at": now,
        "timers_started": [t["sla"] for t in timers],
    }


def move_lead(
    ctx: AppContext,
    lead_id: str,
    to: str,
    *,
    actor: str,
    reason: str | None,
    now: datetime,
    actor_kind: str = "person",
) -> dict[str, Any]:
    """A person (or an integration) moves a lead; refused moves raise MarketopsError."""
    if not actor or not actor.strip():
        raise MarketopsError(
            "who is moving the lead?", [Problem("actor", "missing", "give a name")]
        )
    with ctx.engine.begin() as conn:
        lead = lock_lead(conn, lead_id)
        if lead is None:
            raise NotFound(f"no lead with id {lead_id}")
        return apply_move(
            conn, ctx.config, lead, to, actor=actor, actor_kind=actor_kind, reason=reason, now=now
        )


def record_activity(
    ctx: AppContext,
    lead_id: str,
    kind: str,
    *,
    actor: str,
    now: datetime,
    occurred_at: datetime | None = None,
    notes: str | None = None,
    ref: str | None = None,
) -> dict[str, Any]:
    """A sales touch (call, email, meeting): stored as an activity; stops the SLA clocks that
    list it in `stop_on`. `ref` (e.g. an Idempotency-Key) makes a retry a no-op."""
    if kind not in SALES_TOUCHES:
        raise MarketopsError(
            f"unknown sales touch {kind!r}",
            [Problem("type", f"{kind!r}", f"one of {', '.join(SALES_TOUCHES)}")],
        )
    if not actor or not actor.strip():
        raise MarketopsError("who made the touch?", [Problem("actor", "missing", "give a name")])
    at = occurred_at or now
    if at.tzinfo is None:
        raise MarketopsError(
            "occurred_at needs a time zone",
            [Problem("occurred_at", at.isoformat(), "e.g. 2026-11-25T10:00:00Z")],
        )
    if at > now:
        raise MarketopsError(
            "occurred_at is in the future",
            [Problem("occurred_at", at.isoformat(), "a touch that happened")],
        )
    source_ref = f"touch:{ref}" if ref else None
    with ctx.engine.begin() as conn:
        lead = lock_lead(conn, lead_id)
        if lead is None:
            raise NotFound(f"no lead with id {lead_id}")
        if source_ref:
            prior = conn.execute(
                select(activities.c.id).where(activities.c.source_ref == source_ref)
            ).scalar()
            if prior is not None:
                return {
                    "id": prior,
                    "lead_id": lead_id,
                    "type": kind,
                    "replayed": True,
                    "stopped": [],
                }
        act_id = conn.execute(
            insert(activities)
            .values(
                lead_id=lead_id,
                type=kind,
                occurred_at=at,
                source_ref=source_ref,
                details={"sales_touch": True, "by": actor, "notes": notes},
            )
            .returning(activities.c.id)
        ).scalar_one()
        stops = [s.name for s in ctx.config.lifecycle.slas if kind in s.stop_on]
        stopped: list[str] = []
        if stops:
            stopped = list(
                conn.execute(
                    update(sla_timers)
                    .where(
                        sla_timers.c.lead_id == lead_id,
                        sla_timers.c.status == "pending",
                        sla_timers.c.sla.in_(stops),
                        sla_timers.c.started_at <= at,
                    )
                    .values(
                        status="stopped",
                        resolved_at=now,
                        result={"stopped_by": kind, "activity_id": act_id, "at": at.isoformat()},
                    )
                    .returning(sla_timers.c.sla)
                ).scalars()
            )
        conn.execute(
            insert(lead_events).values(
                lead_id=lead_id,
                at=now,
                kind="activity",
                actor=actor,
                data={"type": kind, "occurred_at": at.isoformat(), "stopped": sorted(set(stopped))},
            )
        )
    return {
        "id": act_id,
        "lead_id": lead_id,
        "type": kind,
        "occurred_at": at,
        "replayed": False,
        "stopped": sorted(set(stopped)),
    }


def history(ctx: AppContext, lead_id: str, now: datetime) -> dict[str, Any]:
    """Stage periods, time in each stage, every transition with actor and reason, SLA clocks."""
    with ctx.engine.connect() as conn:
        lead = conn.execute(
            select(leads.c.id, leads.c.lifecycle_stage, leads.c.owner, leads.c.queue).where(
                leads.c.id == lead_id
            )
        ).first()
        if lead is None:
            raise NotFound(f"no lead with id {lead_id}")
        events = [
            dict(r._mapping)
            for r in conn.execute(
                select(
                    lead_events.c.at, lead_events.c.kind, lead_events.c.actor, lead_events.c.data
                )
                .where(lead_events.c.lead_id == lead_id, lead_events.c.kind == "stage")
                .order_by(lead_events.c.id)
            )
        ]
        timers = [
            dict(r._mapping)
            for r in conn.execute(
                select(
                    sla_timers.c.id,
                    sla_timers.c.sla,
                    sla_timers.c.step,
                    sla_timers.c.action,
                    sla_timers.c.stage,
                    sla_timers.c.owner,
                    sla_timers.c.calendar,
                    sla_timers.c.started_at,
                    sla_timers.c.due_at,
                    sla_timers.c.status,
                    sla_timers.c.resolved_at,
                    sla_timers.c.result,
                )
                .where(sla_timers.c.lead_id == lead_id)
                .order_by(sla_timers.c.id)
            )
        ]
    spans = stage_spans(events)
    totals = time_in_stage(spans, now)
    return {
        "id": lead_id,
        "stage": lead.lifecycle_stage,
        "owner": lead.owner,
        "queue": lead.queue,
        "in_stage_since": spans[-1].entered_at if spans else None,
        "time_in_stage": {
            k: {"seconds": v.total_seconds(), "text": format_duration(v)} for k, v in totals.items()
        },
        "transitions": [
            {
                "at": e["at"],
                "from": e["data"].get("from"),
                "to": e["data"].get("to"),
                "actor": e["actor"],
                "reason": e["data"].get("reason"),
                "backward": e["data"].get("backward", False),
            }
            for e in events
        ],
        "sla_timers": timers,
    }
