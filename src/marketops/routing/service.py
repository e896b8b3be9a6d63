"""Routing use cases: explain an assignment (`lead why`), reassign a lead, import accounts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select, update

from marketops.errors import NotFound
from marketops.lifecycle.sla import plan_timers
from marketops.routing.accounts import read_accounts_csv, upsert_accounts
from marketops.routing.assign import pick_member
from marketops.services.context import AppContext
from marketops.store.bulk import bulk_insert
from marketops.store.leads_repo import SlotAllocator
from marketops.store.schema import lead_events, leads, queue_cursors
from marketops.store.tables_lifecycle import sla_timers


def why(ctx: AppContext, lead_id: str) -> dict[str, Any]:
    """Every routing decision for a lead: the rules tried, the one that matched, and why this
    owner (members skipped and the reason, account matches, slots)."""
    with ctx.engine.connect() as conn:
        lead = conn.execute(
            select(leads.c.id, leads.c.queue, leads.c.owner, leads.c.lifecycle_stage).where(
                leads.c.id == lead_id
            )
        ).first()
        if lead is None:
            raise NotFound(f"no lead with id {lead_id}")
        decisions = [
            {"at": r.at, "actor": r.actor, **(r.data or {})}
            for r in conn.execute(
                select(lead_events.c.at, lead_events.c.actor, lead_events.c.data)
                .where(lead_events.c.lead_id == lead_id, lead_events.c.kind == "routed")
                .order_by(lead_events.c.id)
            )
        ]
    return {
        "id": lead_id,
        "queue": lead.queue,
        "owner": lead.owner,
        "stage": lead.lifecycle_stage,
        "decisions": decisions,
    }


def lock_queue(conn: Connection, queue: str) -> bool:
    """Take a queue's round-robin lock without waiting (PostgreSQL); False if another transaction
    holds it, so background work never waits on (or deadlocks with) live captures."""
    if conn.dialect.name != "postgresql":
        return True
    got = conn.execute(
        select(queue_cursors.c.queue)
        .where(queue_cursors.c.queue == queue)
        .with_for_update(skip_locked=True)
    ).first()
    return got is not None


def reassign_locked(
    conn: Connection, cfg: Any, lead: Any, *, actor: str, reason: str, now: datetime
) -> dict[str, Any]:
    """Give a locked lead to the next available member of its queue (not the current owner),
    with the audit trail and fresh SLA clocks. Returns what happened."""
    routing = cfg.routing
    q = routing.queues.get(lead.queue or "")
    if q is None or not routing.cycles.get(q.name):
        return {"reassigned": False, "why": f"lead is not in a queue with members ({lead.queue})"}
    slots = SlotAllocator(conn)
    load = (
        slots.load(q, cfg.lifecycle.open_stage_set(), routing.queues)
        if any(m.capacity is not None for m in q.members)
        else {}
    )
    pick = pick_member(
        q,
        routing.cycles[q.name],
        slots,
        now,
        routing.calendars,
        load,
        exclude=frozenset({lead.owner} if lead.owner else ()),
    )
    slots.save()
    if pick.owner is None or pick.owner == lead.owner:
        return {"reassigned": False, "why": "; ".join(pick.reasons)}
    conn.execute(
        update(leads).where(leads.c.id == lead.id).values(owner=pick.owner, updated_at=now)
    )
    data = {
        "queue": q.name,
        "owner": pick.owner,
        "rule": actor,
        "evaluated": [],
        "reasons": [reason, *pick.reasons],
        "previous_owner": lead.owner,
    }
    conn.execute(
        insert(lead_events).values(lead_id=lead.id, at=now, kind="routed", actor=actor, data=data)
    )
    conn.execute(
        update(sla_timers)
        .where(
            sla_timers.c.lead_id == lead.id,
            sla_timers.c.status == "pending",
            sla_timers.c.owner.is_not(None),
        )
        .values(status="cancelled", result={"reason": f"reassigned to {pick.owner}"})
    )
    bulk_insert(
        conn,
        sla_timers,
        plan_timers(
            cfg.lifecycle,
            routing.config,
            routing.calendars,
            lead_id=lead.id,
            stage=lead.lifecycle_stage,
            prev_stage=lead.lifecycle_stage,
            owner=pick.owner,
            prev_owner=lead.owner,
            queue=q.name,
            actor_kind="rule",
            now=now,
        ),
    )
    return {"reassigned": True, "from": lead.owner, "to": pick.owner, "reasons": data["reasons"]}


def import_accounts(ctx: AppContext, path: Path, now: datetime) -> dict[str, int]:
    rows = read_accounts_csv(path)
    with ctx.engine.begin() as conn:
        counts = upsert_accounts(conn, rows, now)
    return {"rows": len(rows), **counts}
