"""Release trains and freezes: RRULE expansion in local time, capacity, freeze checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from marketops.errors import MarketopsError, WorkspaceError
from marketops.ops.releases import Booking, ReleasesFile, load_releases

NY = ZoneInfo("America/New_York")
H = timedelta(hours=1)

RELEASES = {
    "timezone": "America/New_York",
    "trains": [
        {
            "name": "web",
            "rrule": "FREQ=WEEKLY;BYDAY=TU,TH;BYHOUR=10;BYMINUTE=0;BYSECOND=0",
            "duration": "2h",
            "capacity": 2,
        },
        {
            "name": "email",
            "rrule": "FREQ=WEEKLY;BYDAY=WE;BYHOUR=14;BYMINUTE=0;BYSECOND=0",
            "duration": "1h",
            "capacity": 1,
        },
    ],
    "freezes": [
        {
            "name": "friday",
            "rrule": "FREQ=WEEKLY;BYDAY=FR;BYHOUR=15;BYMINUTE=0;BYSECOND=0",
            "duration": "66h",
            "reason": "weekend",
        },
        {"name": "year-end", "start": "2026-12-18", "end": "2027-01-04", "reason": "holidays"},
    ],
}


@pytest.fixture
def releases():
    return load_releases(ReleasesFile.model_validate(RELEASES))


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)


def test_windows_keep_local_wall_clock_across_dst(releases):
    found = releases.windows(ny(2026, 3, 1), ny(2026, 3, 13), freezes=False)
    web = [w for w in found if w.name == "web"]
    # 10:00 EST = 15:00 UTC before 2026-03-08, 10:00 EDT = 14:00 UTC after
    assert [w.start for w in web] == [
        datetime(2026, 3, 3, 15, tzinfo=UTC),
        datetime(2026, 3, 5, 15, tzinfo=UTC),
        datetime(2026, 3, 10, 14, tzinfo=UTC),
        datetime(2026, 3, 12, 14, tzinfo=UTC),
    ]
    assert all(w.end - w.start == 2 * H and w.capacity == 2 for w in web)


def test_rfc5545_first_friday_example_across_dst():
    # RFC 5545 section 3.8.5.3, "Monthly on the first Friday for 10 occurrences":
    # DTSTART;TZID=America/New_York:19970905T090000 RRULE:FREQ=MONTHLY;COUNT=10;BYDAY=1FR
    # ==> 09:00 EDT Sep 5, Oct 3; 09:00 EST Nov 7, Dec 5, Jan 2, Feb 6, Mar 6, Apr 3;
    #     09:00 EDT May 1, Jun 5 (1997-1998)
    model = ReleasesFile.model_validate(
        {
            "trains": [
                {
                    "name": "first-friday",
                    "timezone": "America/New_York",
                    "rrule": "FREQ=MONTHLY;COUNT=10;BYDAY=1FR",
                    "dtstart": "1997-09-05T09:00",
                    "duration": "1h",
                }
            ]
        }
    )
    found = load_releases(model).windows(ny(1997, 1, 1), ny(1999, 1, 1))
    expected = [
        (1997, 9, 5),
        (1997, 10, 3),
        (1997, 11, 7),
        (1997, 12, 5),
        (1998, 1, 2),
        (1998, 2, 6),
        (1998, 3, 6),
        (1998, 4, 3),
        (1998, 5, 1),
        (1998, 6, 5),
    ]
    assert [w.start for w in found] == [ny(*d, 9).astimezone(UTC) for d in expected]
    offsets = [w.start.astimezone(NY).utcoffset() for w in found]
    assert offsets == [-4 * H] * 2 + [-5 * H] * 6 + [-4 * H] * 2


def test_freeze_duration_is_wall_clock_across_spring_forward(releases):
    freeze = releases.windows(ny(2026, 3, 6), ny(2026, 3, 7), trains=False)[0]
    # Friday 15:00 EST -> Monday 09:00 EDT: 65 real hours because the clocks went forward
    assert freeze.start == datetime(2026, 3, 6, 20, tzinfo=UTC)
    assert freeze.end == datetime(2026, 3, 9, 13, tzinfo=UTC)


def test_next_train_takes_the_next_window_with_room(releases):
    after = ny(2026, 3, 2, 8)  # Monday
    slot = releases.next_train(after, [], 30 * timedelta(minutes=1))
    assert (slot.train, slot.launch_at, slot.free) == ("web", ny(2026, 3, 3, 10), 2)
    full = [Booking(ny(2026, 3, 3, 10), "web"), Booking(ny(2026, 3, 3, 11), None, "CAMP-1")]
    slot = releases.next_train(after, full, 30 * timedelta(minutes=1))
    assert (slot.train, slot.window_start) == ("email", ny(2026, 3, 4, 14))
    other_train = [Booking(ny(2026, 3, 3, 10), "email")] * 5
    assert releases.next_train(after, other_train).window_start == ny(2026, 3, 3, 10)


def test_launch_must_fit_in_the_window_and_an_open_window_counts(releases):
    # Tuesday 11:00: web window open until 12:00
    assert releases.next_train(ny(2026, 3, 3, 11), [], H).launch_at == ny(2026, 3, 3, 11)
    too_long = releases.next_train(ny(2026, 3, 3, 11), [], 90 * timedelta(minutes=1))
    assert too_long.window_start == ny(2026, 3, 5, 10)  # not the email hour (1h), Thursday web


def test_windows_inside_a_freeze_are_skipped(releases):
    slots = releases.upcoming_trains(ny(2026, 12, 15), [], count=3)
    # Tue 12-15, Wed 12-16, Thu 12-17 are before the freeze; then nothing until 2027-01-05
    assert [s.window_start.astimezone(NY).date().isoformat() for s in slots] == [
        "2026-12-15",
        "2026-12-16",
        "2026-12-17",
    ]
    after_freeze = releases.next_train(ny(2026, 12, 18), [], train="web")
    assert after_freeze.window_start == ny(2027, 1, 5, 10)


def test_check_launch_blocks_in_a_freeze_and_records_an_override(releases):
    blocked = releases.check_launch(ny(2026, 3, 6, 16))
    assert not blocked.allowed and [w.name for w in blocked.blocked_by] == ["friday"]
    assert blocked.override_reason is None and not blocked.overridden
    assert not releases.check_launch(ny(2026, 3, 6, 16), override_reason="   ").allowed
    forced = releases.check_launch(ny(2026, 3, 6, 16), override_reason="sev-1 pricing bug")
    assert forced.allowed and forced.overridden
    assert forced.override_reason == "sev-1 pricing bug"
    assert [w.reason for w in forced.blocked_by] == ["weekend"]


def test_check_launch_outside_freezes_and_a_launch_running_into_one(releases):
    ok = releases.check_launch(ny(2026, 3, 5, 10, 30))
    assert ok.allowed and not ok.blocked_by and ok.train_window.name == "web"
    assert releases.check_launch(ny(2026, 3, 6, 14)).train_window is None
    assert releases.check_launch(ny(2026, 3, 6, 15), override_reason="x").blocked_by
    running_into = releases.check_launch(ny(2026, 3, 6, 14, 30), duration=H)
    assert not running_into.allowed
    assert releases.check_launch(ny(2026, 3, 9, 9)).allowed  # freeze end is exclusive


def test_holiday_freeze_from_dates(releases):
    check = releases.check_launch(ny(2026, 12, 29, 10))
    assert [w.name for w in check.blocked_by] == ["year-end"]
    assert check.blocked_by[0].start == ny(2026, 12, 18).astimezone(UTC)


def test_no_free_window_in_the_horizon_is_an_error(releases):
    with pytest.raises(MarketopsError, match="no release window"):
        releases.next_train(ny(2026, 3, 2), [], duration=3 * H)


def test_bad_bookings_and_times_are_reported(releases):
    with pytest.raises(MarketopsError) as exc:
        releases.next_train(
            ny(2026, 3, 2),
            [Booking(datetime(2026, 3, 3, 10), "web"), Booking(ny(2026, 3, 3, 10), "mobile")],
        )
    assert [p.where for p in exc.value.problems] == ["bookings[0].at", "bookings[1].train"]
    with pytest.raises(MarketopsError, match="timezone-aware"):
        releases.check_launch(datetime(2026, 3, 3, 10))
    with pytest.raises(MarketopsError, match="unknown train"):
        releases.next_train(ny(2026, 3, 2), [], train="mobile")


def test_template_loads_and_workspace_default_is_empty(tmp_path):
    path = Path(str(resources.files("marketops.workspace") / "templates" / "releases.yml"))
    releases = load_releases(path)
    assert {t.item.name for t in releases.trains} == {"web", "email"}
    assert load_releases(tmp_path).windows(ny(2026, 1, 1), ny(2027, 1, 1)) == []


@pytest.mark.parametrize(
    ("text", "fragment", "line"),
    [
        ("freezes:\n  - name: f\n    rrule: FREQ=WEEKLY\n", "needs a `duration`", 2),
        ("freezes:\n  - name: f\n    start: 2026-12-20\n    end: 2026-12-18\n", "ends before", 2),
        ("trains:\n  - name: t\n    rrule: FREQ=WEEKLY;BYDAY=XX\n    duration: 1h\n", "RRULE", 3),
        ("trains:\n  - name: t\n    rrule: FREQ=DAILY\n    duration: soon\n", "not a duration", 4),
        (
            "trains:\n  - name: t\n    rrule: FREQ=DAILY\n    duration: 1h\n    capacity: 0\n",
            "greater than or equal to 1",
            5,
        ),
        (
            "trains:\n  - name: t\n    rrule: FREQ=DAILY\n    duration: 1h\n"
            "    dtstart: 2026-01-01T10:00:00+02:00\n",
            "without an offset",
            5,
        ),
        ("timezone: Nowhere/City\n", "IANA", 1),
    ],
)
def test_file_mistakes_are_located(tmp_path, text, fragment, line):
    path = tmp_path / "releases.yml"
    path.write_text(text)
    with pytest.raises(WorkspaceError) as exc:
        load_releases(path)
    problem = exc.value.problems[0]
    assert fragment in str(problem) and problem.where == f"{path}:{line}"


def test_validate_reports_a_train_that_overlaps_itself(tmp_path):
    from marketops.workspace import validate_workspace

    (tmp_path / "releases.yml").write_text(
        "trains:\n  - name: daily\n    rrule: FREQ=DAILY;BYHOUR=9\n    duration: 25h\n"
        "  - name: fine\n    rrule: FREQ=DAILY;BYHOUR=9\n    duration: 2h\n"
    )
    problems = [p for p in validate_workspace(tmp_path) if "releases.yml" in p.where]
    assert [p.where.rsplit(":", 1)[1] for p in problems] == ["4"]
    assert "daily" in problems[0].message
