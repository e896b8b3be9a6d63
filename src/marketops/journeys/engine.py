"""Pure journey logic shared by the worker and the simulator: goals, waits, branches, successors.

Nothing here reads the clock or the store; callers hand in `now`, the lead (a mapping of its
columns with its attributes folded in) and its segment memberships.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Set
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marketops.journeys.models import DAYS, Goal, Journey, Step, Wait, When, Window
from marketops.ops.calendars.timeparse import parse_clock
from marketops.workspace.conditions import compile_condition

Lead = Mapping[str, Any]
ZONE_FIELDS = ("time_zone", "timezone", "tz")


def lead_view(row: Mapping[str, Any]) -> dict[str, Any]:
    """Columns and contract attributes in one mapping (a column wins over an attribute)."""
    attrs = row.get("attributes") or {}
    return {**attrs, **{k: v for k, v in row.items() if k != "attributes"}}


def contact_zone(lead: Lead, default: str) -> tzinfo:
    """The contact's own IANA zone when it has a valid one, else the journey's."""
    for f in ZONE_FIELDS:
        name = lead.get(f)
        if isinstance(name, str) and name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo(default)


def window_start(window: Window, now: datetime, zone: tzinfo) -> datetime:
    """`now` when inside the window, else the next moment it opens (in the contact's zone)."""
    sh, sm = parse_clock(window.start)
    eh, em = parse_clock(window.end)
    days = {DAYS.index(d) for d in window.days}
    local = now.astimezone(zone)
    for offset in range(8):
        day = (local + timedelta(days=offset)).date()
        if day.weekday() not in days:
            continue
        opens = datetime(day.year, day.month, day.day, sh % 24, sm, tzinfo=zone)
        closes = datetime(day.year, day.month, day.day, 0, 0, tzinfo=zone) + timedelta(
            hours=eh, minutes=em
        )
        if local < opens:
            return opens.astimezone(now.tzinfo)
        if local < closes:
            return now
    raise AssertionError("a window with at least one day opens within a week")


def wait_end(wait: Wait, started: datetime, lead: Lead, default_zone: str) -> datetime:
    """When a wait that began at `started` is over (for an event: when it times out)."""
    if wait.delay is not None:
        return started + wait.delay
    if wait.until_window is not None:
        return window_start(wait.until_window, started, contact_zone(lead, default_zone))
    assert wait.timeout is not None
    return started + wait.timeout


Membership = Callable[[str], bool]


def holds(when: When, lead: Lead, member: Membership) -> bool:
    if when.all and not all(compile_condition(c)(lead) for c in when.all):
        return False
    if when.any and not any(compile_condition(c)(lead) for c in when.any):
        return False
    if when.stage_in is not None and lead.get("lifecycle_stage") not in when.stage_in:
        return False
    if when.in_segment is not None and not member(when.in_segment):
        return False
    return not (when.not_in_segment is not None and member(when.not_in_segment))


def choose_arm(step: Step, lead: Lead, member: Membership) -> tuple[int, str | None]:
    """(arm index, target) of the first arm whose condition holds; (-1, default next) if none."""
    for i, arm in enumerate(step.branch or []):
        if arm.when is None or holds(arm.when, lead, member):
            return i, arm.goto
    return -1, None


def goal_reached(goals: list[Goal], lead: Lead, member: Membership) -> str | None:
    for g in goals:
        if g.stage is not None and lead.get("lifecycle_stage") == g.stage:
            return g.name
        if g.stage_in is not None and lead.get("lifecycle_stage") in g.stage_in:
            return g.name
        if g.in_segment is not None and member(g.in_segment):
            return g.name
        if g.when and all(compile_condition(c)(lead) for c in g.when):
            return g.name
    return None


def successor(
    journey: Journey, step: Step, outcome: str, arm_target: str | None = None
) -> str | None:
    """The next step after `step` ended with `outcome` (None: the journey is over)."""
    if step.exit is not None:
        return None
    if step.branch is not None and arm_target is not None:
        return arm_target
    if outcome == "event" and step.on_event:
        return step.on_event
    if outcome == "timeout" and step.on_timeout:
        return step.on_timeout
    return journey.after(step.id)


def needs_segments(journey: Journey) -> bool:
    """Whether running it reads memberships (saves a query per person when not)."""
    if any(g.in_segment for g in journey.goals):
        return True
    return any(
        a.when is not None and (a.when.in_segment or a.when.not_in_segment)
        for s in journey.steps
        for a in s.branch or []
    )


def member_of(names: Set[str]) -> Membership:
    return lambda seg: seg in names
