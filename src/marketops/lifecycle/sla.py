"""Planning SLA timers (pure): which clocks start when a lead enters a stage or gets an owner.

A timer row is planned with its business-time duration and calendar; `due_at` is computed here
when the calendar is at hand, else by the scheduler on its next tick. Timers are cancelled by the
store when the lead leaves the stage (or changes owner, for clocks that started on assignment).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from marketops.ops.calendars.business import BusinessCalendar
from marketops.ops.calendars.models import BUILTIN_24X7
from marketops.workspace.models import Lifecycle, Routing, StageSla


def owner_calendar(routing: Routing | None, owner: str | None, queue: str | None) -> str:
    """The owner team's calendar: the member's own, else their queue's, else 24x7."""
    if routing is None:
        return BUILTIN_24X7
    for q in sorted(routing.queues, key=lambda q: q.name != queue):  # the lead's queue first
        for m in q.members:
            if m.name == owner:
                return m.calendar or q.calendar or BUILTIN_24X7
    q = next((q for q in routing.queues if q.name == queue), None)
    return q.calendar if q is not None and q.calendar else BUILTIN_24X7


def calendar_for(
    sla: StageSla, routing: Routing | None, owner: str | None, queue: str | None
) -> str:
    return owner_calendar(routing, owner, queue) if sla.calendar == "owner" else sla.calendar


def plan_timers(
    lifecycle: Lifecycle,
    routing: Routing | None,
    calendars: Mapping[str, BusinessCalendar],
    *,
    lead_id: str,
    stage: str,
    prev_stage: str | None,
    owner: str | None,
    prev_owner: str | None,
    queue: str | None,
    actor_kind: str,
    now: datetime,
) -> list[dict[str, Any]]:
    """Rows for `sla_timers` that start now. `actor_kind` is "person" or "rule"."""
    if not lifecycle.slas:
        return []
    entered = stage != prev_stage
    assigned = owner is not None and (entered or owner != prev_owner)
    rows = []
    for sla in lifecycle.slas:
        if sla.stage != stage:
            continue
        if sla.start == "entered":
            if not entered or sla.moved_by not in ("anyone", actor_kind):
                continue
            clock_owner = None
        else:
            if not assigned:
                continue
            clock_owner = owner
        cal_name = calendar_for(sla, routing, owner, queue)
        cal = calendars.get(cal_name)
        for step, timer in enumerate(sla.timers):
            rows.append(
                {
                    "lead_id": lead_id,
                    "sla": sla.name,
                    "step": step,
                    "action": timer.action,
                    "stage": stage,
                    "owner": clock_owner,
                    "queue": queue,
                    "calendar": cal_name,
                    "started_at": now,
                    "after_s": timer.after.total_seconds(),
                    "due_at": cal.add_business_time(now, timer.after) if cal else None,
                    "status": "pending",
                    "resolved_at": None,
                    "result": {},
                }
            )
    return rows
