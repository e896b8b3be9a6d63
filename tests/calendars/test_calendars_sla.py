"""SLA clocks: Jira Service Management semantics, hand-computed on a 09:00-17:00 New York desk.

June 2026: Monday the 8th to Friday the 12th, EDT (UTC-4). Cases follow JSM's documented rules:
start/stop conditions open and close a cycle, pause conditions freeze the clock while they hold,
and a clock that stops and starts again opens a new cycle, measured separately.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from calendars_helpers import NY, make

from marketops.errors import MarketopsError
from marketops.ops.calendars import SlaGoal, evaluate_sla

H = timedelta(hours=1)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=NY)


@pytest.fixture
def goal() -> SlaGoal:
    return SlaGoal(
        name="time to resolution",
        target=4 * H,
        calendar=make("desk", "America/New_York", ["09:00-17:00"]),
        start=frozenset({"created", "reopened"}),
        stop=frozenset({"resolved"}),
        pause=frozenset({"waiting_for_customer"}),
        resume=frozenset({"customer_replied"}),
    )


def test_running_clock_elapsed_remaining_and_predicted_breach(goal):
    status = evaluate_sla(goal, [(at(8, 9), "created")], now=at(8, 11))
    cycle = status.ongoing
    assert cycle is not None and cycle.state == "running"
    assert (cycle.elapsed, cycle.remaining, cycle.breached) == (2 * H, 2 * H, False)
    assert cycle.breach_at == datetime(2026, 6, 8, 17, tzinfo=UTC)  # 13:00 EDT


def test_breach_prediction_skips_the_weekend(goal):
    # created Friday 15:00: 2h on Friday, 2h on Monday -> breach Monday 11:00 EDT
    status = evaluate_sla(goal, [(at(12, 15), "created")], now=at(12, 16))
    assert status.current.breach_at == datetime(2026, 6, 15, 15, tzinfo=UTC)
    assert status.current.elapsed == H


def test_pause_freezes_the_clock(goal):
    events = [
        (at(8, 9), "created"),
        (at(8, 10), "waiting_for_customer"),
        (at(9, 9, 30), "customer_replied"),
    ]
    paused = evaluate_sla(goal, events[:2], now=at(9, 12)).current
    assert paused.state == "paused" and paused.elapsed == H and paused.breach_at is None
    running = evaluate_sla(goal, events, now=at(9, 10, 30)).current
    assert running.state == "running" and running.elapsed == 2 * H
    # 2h left from Tue 10:30 -> Tue 12:30 EDT
    assert running.breach_at == datetime(2026, 6, 9, 16, 30, tzinfo=UTC)


def test_stopped_in_time_is_met_and_late_is_breached_at_the_goal_instant(goal):
    met = evaluate_sla(goal, [(at(8, 9), "created"), (at(8, 12), "resolved")], now=at(10, 9))
    cycle = met.current
    assert cycle.met and cycle.elapsed == 3 * H and cycle.remaining == H
    assert cycle.breach_at is None
    late = evaluate_sla(goal, [(at(8, 15), "created"), (at(9, 12), "resolved")], now=at(10, 9))
    cycle = late.current
    # 2h Monday + 3h Tuesday = 5h; the 4h goal was reached Tuesday 11:00 EDT
    assert cycle.breached and not cycle.met and cycle.remaining == -H
    assert cycle.breach_at == datetime(2026, 6, 9, 15, tzinfo=UTC)


def test_each_cycle_is_measured_separately(goal):
    events = [
        (at(8, 9), "created"),
        (at(8, 10), "resolved"),
        (at(10, 14), "reopened"),
        (at(11, 10), "resolved"),
        (at(12, 9), "reopened"),
    ]
    status = evaluate_sla(goal, events, now=at(12, 10))
    assert [c.index for c in status.cycles] == [1, 2, 3]
    first, second, third = status.cycles
    assert first.elapsed == H and first.met
    assert second.elapsed == 4 * H and second.met  # 3h Wed + 1h Thu: exactly the goal is met
    assert third.state == "running" and third.elapsed == H
    assert status.ongoing is third


def test_start_while_paused_starts_paused_and_resumes_later(goal):
    events = [
        (at(8, 8), "waiting_for_customer"),
        (at(8, 9), "created"),
        (at(8, 13), "customer_replied"),
    ]
    status = evaluate_sla(goal, events, now=at(8, 14))
    assert status.current.elapsed == H and status.current.started_at == at(8, 9)


def test_event_in_stop_and_start_restarts(goal):
    restart = SlaGoal(
        **{**goal.__dict__, "start": goal.start | {"escalated"}, "stop": goal.stop | {"escalated"}}
    )
    status = evaluate_sla(restart, [(at(8, 9), "created"), (at(8, 11), "escalated")], now=at(8, 12))
    assert [c.elapsed for c in status.cycles] == [2 * H, H]
    assert status.cycles[0].state == "stopped" and status.cycles[1].state == "running"


def test_order_does_not_matter_and_future_events_are_not_known_yet(goal):
    events = [(at(8, 12), "resolved"), (at(8, 9), "created"), (at(8, 9, 30), "unrelated")]
    status = evaluate_sla(goal, list(reversed(events)), now=at(8, 11))
    assert status.current.state == "running" and status.current.elapsed == 2 * H
    assert evaluate_sla(goal, events, now=at(8, 13)).current.met


def test_no_start_no_cycle(goal):
    status = evaluate_sla(goal, [(at(8, 9), "resolved")], now=at(8, 10))
    assert status.cycles == () and status.current is None and status.ongoing is None


def test_bad_events_are_all_reported(goal):
    with pytest.raises(MarketopsError) as exc:
        evaluate_sla(
            goal,
            [(datetime(2026, 6, 8, 9), "created"), (at(8, 9), ""), (at(8, 9), "created")],
            now=at(8, 10),
        )
    assert [p.where for p in exc.value.problems] == ["events[0].timestamp", "events[1].event"]


def test_goal_spec_from_yaml_shapes_compiles_against_the_calendars():
    from marketops.ops.calendars import BusinessCalendar, SlaGoalSpec

    calendars = {
        "desk": make("desk", "America/New_York", ["09:00-17:00"]),
        "24x7": BusinessCalendar.twenty_four_seven(),
    }
    spec = SlaGoalSpec.model_validate(
        {
            "name": "first response",
            "calendar": "desk",
            "target": "2h",
            "start": ["created"],
            "stop": ["responded"],
        }
    )
    goal = spec.compile(calendars)
    status = evaluate_sla(goal, [(at(12, 16), "created")], now=at(12, 16, 30))
    assert status.current.breach_at == datetime(2026, 6, 15, 14, tzinfo=UTC)  # Mon 10:00 EDT
    with pytest.raises(MarketopsError, match="unknown calendar"):
        SlaGoalSpec.model_validate({**spec.model_dump(), "calendar": "nope"}).compile(calendars)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"target": "0m"}, "positive"),
        ({"start": []}, "at least 1"),
        ({"pause": ["waiting"]}, "go together"),
        ({"target": "soon"}, "not a duration"),
    ],
)
def test_goal_spec_mistakes(change, fragment):
    from pydantic import ValidationError

    from marketops.ops.calendars import SlaGoalSpec

    base = {"name": "g", "target": "4h", "start": ["created"], "stop": ["resolved"]}
    with pytest.raises(ValidationError, match=fragment):
        SlaGoalSpec.model_validate({**base, **change})
