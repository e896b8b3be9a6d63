"""Choosing the member who gets a lead: weighted round-robin that skips members who are out of
office, outside working hours or at capacity, and says why for each one it skipped.

Pure: the caller hands in `now`, the calendars, a slot source (positions handed out atomically by
the store) and the members' current open-lead counts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from marketops.ops.calendars.business import BusinessCalendar
from marketops.pipeline.records import Assignment
from marketops.pipeline.route import needs_slot, route
from marketops.workspace.models import Member, Queue


@dataclass
class Pick:
    owner: str | None
    reasons: list[str] = field(default_factory=list)
    slots: list[int] = field(default_factory=list)


def local_date(now: datetime, calendar: BusinessCalendar | None) -> date:
    return now.astimezone(calendar.zone if calendar else UTC).date()


def unavailable_because(
    member: Member,
    queue: Queue,
    now: datetime,
    calendars: Mapping[str, BusinessCalendar],
    load: Mapping[str, int],
) -> str | None:
    """Why `member` cannot take a lead now, or None when they can."""
    cal_name = member.calendar or (queue.calendar if queue.respect_working_hours else None)
    cal = calendars.get(cal_name) if cal_name else None
    today = local_date(now, cal or calendars.get(queue.calendar or ""))
    for ooo in member.out_of_office:
        if ooo.from_ <= today <= ooo.to:
            why = f" ({ooo.reason})" if ooo.reason else ""
            return f"out of office {ooo.from_}..{ooo.to}{why}"
    if cal is not None and not cal.is_open(now):
        return f"outside working hours ({cal.name})"
    if member.capacity is not None and queue.skip_if_full:
        have = load.get(member.name, 0)
        if have >= member.capacity:
            return f"at capacity ({have}/{member.capacity} open leads)"
    return None


def pick_member(
    queue: Queue,
    cycle: list[str],
    take_slot: Callable[[str], int],
    now: datetime,
    calendars: Mapping[str, BusinessCalendar],
    load: Mapping[str, int],
    exclude: frozenset[str] = frozenset(),
) -> Pick:
    """Take round-robin slots until one belongs to an available member (at most one cycle).

    A skipped member's slot is used up, so a member back from leave does not get a burst of
    catch-up leads; among available members the spread follows their weights.
    """
    pick = Pick(None)
    if not cycle:
        return pick
    members = {m.name: m for m in queue.members}
    tried: set[str] = set()
    for _ in range(len(cycle)):
        pos = take_slot(queue.name)
        name = cycle[pos % len(cycle)]
        pick.slots.append(pos)
        if name in exclude:
            if name not in tried:
                pick.reasons.append(f"{name}: excluded (current owner)")
                tried.add(name)
            continue
        why = unavailable_because(members[name], queue, now, calendars, load)
        if why is None:
            pick.owner = name
            pick.reasons.append(f"{name}: round-robin slot {pos} of queue {queue.name}")
            return pick
        if name not in tried:
            pick.reasons.append(f"{name}: skipped, {why}")
            tried.add(name)
        if len(tried) == len(members):
            break
    if queue.overflow:
        pick.owner = queue.overflow
        pick.reasons.append(f"no member available; overflow owner {queue.overflow}")
    else:
        pick.reasons.append("no member available; the lead waits in the queue unassigned")
    return pick


def assign(
    view: Mapping[str, Any],
    cfg: Any,  # pipeline.runner.CompiledConfig
    take_slot: Callable[[str], int],
    now: datetime,
    queue: str | None,
    owner: str | None,
) -> tuple[Assignment | None, dict[str, Any]]:
    """The route step: rule, then account owner or an available queue member, with the audit.

    `take_slot` is the store's slot allocator; when it also offers `load(queue, stages)` (open
    leads per member) and `accounts(routing)` (the account index), capacity and account matching
    apply. A lead already in the matched queue keeps its owner (sticky).
    """
    routing = cfg.routing
    reasons: list[str] = []
    accounts_of = getattr(take_slot, "accounts", None)
    accounts = accounts_of(routing) if accounts_of is not None else None
    a = route(view, routing, accounts, reasons)
    return complete(a, reasons, cfg, take_slot, now, queue, owner)


def complete(
    a: Assignment | None,
    reasons: list[str],
    cfg: Any,
    take_slot: Callable[[str], int],
    now: datetime,
    queue: str | None,
    owner: str | None,
) -> tuple[Assignment | None, dict[str, Any]]:
    """The second half of `assign`, after the rule matched: stickiness, the member, the audit.

    Batch ingestion matches rules in worker processes (`route` is pure) and completes here, in
    the writer, where the round-robin slots and the members' loads live.
    """
    routing = cfg.routing
    if a is None:
        return None, {}
    if a.queue is not None and a.queue == queue and owner:
        return None, {}
    if a.queue is None and a.owner == owner and queue is None and a.owner is not None:
        return None, {}
    if needs_slot(routing, a):
        q = routing.queues[a.queue]
        load_of = getattr(take_slot, "load", None)
        needs_load = any(m.capacity is not None for m in q.members)
        stages = cfg.lifecycle.open_stage_set()
        load = load_of(q, stages, routing.queues) if load_of and needs_load else {}
        pick = pick_member(q, routing.cycles[a.queue], take_slot, now, routing.calendars, load)
        a.owner = pick.owner
        reasons += pick.reasons
        took = getattr(take_slot, "took", None)
        if pick.owner is not None and took is not None:
            took(pick.owner)
    data = {
        "queue": a.queue,
        "owner": a.owner,
        "rule": a.rule,
        "evaluated": a.evaluated,
        "reasons": reasons,
        "previous_owner": owner,
    }
    channel = routing.config.notify_owner if routing.config is not None else None
    if channel and a.owner and a.owner != owner:
        data["notify"] = channel  # the store queues the message with the lead (outbox)
    return a, data
