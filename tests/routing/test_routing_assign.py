"""Choosing the member (pure): out of office, working hours, capacity, exclusions, overflow."""

from datetime import UTC, datetime
from itertools import count

from marketops.ops.calendars import load_calendars
from marketops.pipeline.route import smooth_weighted_sequence
from marketops.routing.assign import pick_member, unavailable_because
from marketops.workspace.models import Queue

# Tuesday 2026-11-24 15:00 UTC = 10:00 in New York (open); 03:00 UTC = 22:00 Monday (closed)
OPEN = datetime(2026, 11, 24, 15, tzinfo=UTC)
CLOSED = datetime(2026, 11, 24, 3, tzinfo=UTC)


def queue(**kw) -> Queue:
    base = {"name": "q", "members": [{"name": "a", "weight": 2}, {"name": "b"}]}
    return Queue.model_validate({**base, **kw})


def slots():
    c = count()
    return lambda _q: next(c)


def cycle(q: Queue) -> list[str]:
    return smooth_weighted_sequence([(m.name, m.weight) for m in q.members])


def test_weights_when_everyone_is_available() -> None:
    q = queue()
    take = slots()
    owners = [pick_member(q, cycle(q), take, OPEN, {}, {}).owner for _ in range(300)]
    assert owners.count("a") == 200 and owners.count("b") == 100


def test_out_of_office_in_the_members_zone(workspace_dir) -> None:
    cals = load_calendars(workspace_dir)
    q = queue(
        members=[
            {
                "name": "a",
                "calendar": "us-east-business",
                "out_of_office": [{"from": "2026-11-24", "to": "2026-11-26", "reason": "PTO"}],
            },
            {"name": "b"},
        ]
    )
    p = pick_member(q, cycle(q), slots(), OPEN, cals, {})
    assert p.owner == "b"
    assert p.reasons == [
        "a: skipped, out of office 2026-11-24..2026-11-26 (PTO)",
        "b: round-robin slot 1 of queue q",
    ]
    # 2026-11-24 03:00 UTC is still the 23rd in New York: not yet out of office (but closed)
    why = unavailable_because(q.members[0], q, datetime(2026, 11, 24, 3, tzinfo=UTC), cals, {})
    assert why == "outside working hours (us-east-business)"


def test_working_hours_from_the_team_calendar(workspace_dir) -> None:
    cals = load_calendars(workspace_dir)
    q = queue(calendar="us-east-business", respect_working_hours=True, overflow="night.desk")
    assert pick_member(q, cycle(q), slots(), OPEN, cals, {}).owner == "a"
    p = pick_member(q, cycle(q), slots(), CLOSED, cals, {})
    assert p.owner == "night.desk"
    assert p.reasons[-1] == "no member available; overflow owner night.desk"


def test_capacity_skip_if_full_and_hold() -> None:
    q = queue(members=[{"name": "a", "weight": 2, "capacity": 3}, {"name": "b", "capacity": 10}])
    take = slots()
    p = pick_member(q, cycle(q), take, OPEN, {}, {"a": 3, "b": 1})
    assert p.owner == "b" and p.reasons[0] == "a: skipped, at capacity (3/3 open leads)"
    full = pick_member(q, cycle(q), take, OPEN, {}, {"a": 3, "b": 10})
    assert full.owner is None
    assert full.reasons[-1] == "no member available; the lead waits in the queue unassigned"
    relaxed = queue(members=[{"name": "a", "capacity": 0}], skip_if_full=False)
    assert pick_member(relaxed, ["a"], take, OPEN, {}, {"a": 5}).owner == "a"


def test_exclude_current_owner() -> None:
    q = queue()
    p = pick_member(q, cycle(q), slots(), OPEN, {}, {}, exclude=frozenset({"a"}))
    assert p.owner == "b" and p.reasons[0] == "a: excluded (current owner)"
