"""BusinessCalendar arithmetic, hand-computed, including the DST days of 2026.

DST dates used (published rules): the US changes on the second Sunday of March and the first
Sunday of November at 02:00 local (Energy Policy Act of 2005, 15 U.S.C. 260a): 2026-03-08 and
2026-11-01. The EU/UK changes on the last Sunday of March and October at 01:00 UTC (Directive
2000/84/EC; UK Summer Time Order 2002): 2026-03-29 and 2026-10-25.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from calendars_helpers import ALL_DAYS, LON, NY, WEEKDAYS, brute_between, make

from marketops.errors import MarketopsError
from marketops.ops.calendars import BusinessCalendar

H = timedelta(hours=1)


@pytest.fixture
def ny() -> BusinessCalendar:
    return make("ny", "America/New_York", ["09:00-17:00"])


def test_two_hours_from_friday_1630_is_monday_1030_across_spring_forward(ny):
    due = ny.add_business_time(datetime(2026, 3, 6, 16, 30, tzinfo=NY), 2 * H)
    # Monday 2026-03-09 10:30 EDT (UTC-4) = 14:30 UTC
    assert due == datetime(2026, 3, 9, 14, 30, tzinfo=UTC)
    assert due.tzinfo is UTC
    assert due.astimezone(NY).replace(tzinfo=None) == datetime(2026, 3, 9, 10, 30)


def test_two_hours_from_friday_1630_across_fall_back(ny):
    due = ny.add_business_time(datetime(2026, 10, 30, 16, 30, tzinfo=NY), 2 * H)
    # Monday 2026-11-02 10:30 EST (UTC-5) = 15:30 UTC
    assert due == datetime(2026, 11, 2, 15, 30, tzinfo=UTC)


def test_two_hours_from_friday_1630_london_across_bst_start():
    lon = make("lon", "Europe/London", ["09:00-17:00"])
    due = lon.add_business_time(datetime(2026, 3, 27, 16, 30, tzinfo=LON), 2 * H)
    # Monday 2026-03-30 10:30 BST (UTC+1) = 09:30 UTC
    assert due == datetime(2026, 3, 30, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz", "day"),
    [
        ("America/New_York", date(2026, 3, 8)),  # spring forward, 23-hour day
        ("America/New_York", date(2026, 11, 1)),  # fall back, 25-hour day
        ("Europe/London", date(2026, 3, 29)),
        ("Europe/London", date(2026, 10, 25)),
    ],
)
def test_nine_to_five_is_eight_hours_on_dst_days_and_the_whole_day_is_23_or_25(tz, day):
    zone = ZoneInfo(tz)
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    nine_to_five = make("d", tz, ["09:00-17:00"], days=ALL_DAYS)
    assert nine_to_five.business_time_between(start, end) == 8 * H
    whole_day = make("w", tz, ["00:00-24:00"], days=ALL_DAYS)
    expected = 23 * H if day.month == 3 else 25 * H
    assert whole_day.business_time_between(start, end) == expected
    assert whole_day.add_business_time(start, expected) == end


def test_hours_that_straddle_the_change_count_real_time():
    # 01:00-04:00 local: 01:00 EST -> 04:00 EDT is 2 real hours on 2026-03-08,
    # 01:00 EDT -> 04:00 EST is 4 real hours on 2026-11-01.
    cal = make("night", "America/New_York", ["01:00-04:00"], days=ALL_DAYS)
    assert (
        cal.business_time_between(datetime(2026, 3, 8, tzinfo=NY), datetime(2026, 3, 9, tzinfo=NY))
        == 2 * H
    )
    assert (
        cal.business_time_between(
            datetime(2026, 11, 1, tzinfo=NY), datetime(2026, 11, 2, tzinfo=NY)
        )
        == 4 * H
    )


def test_lunch_break_is_skipped():
    lon = make("lon", "Europe/London", ["09:00-12:00", "13:00-17:00"])
    # 11:00 + 2h: 11:00-12:00 then 13:00-14:00 (2026-06-10 is a Wednesday, BST = UTC+1)
    due = lon.add_business_time(datetime(2026, 6, 10, 11, tzinfo=LON), 2 * H)
    assert due == datetime(2026, 6, 10, 13, tzinfo=UTC)
    assert (
        lon.business_time_between(
            datetime(2026, 6, 10, 0, tzinfo=LON), datetime(2026, 6, 11, 0, tzinfo=LON)
        )
        == 7 * H
    )
    assert not lon.is_open(datetime(2026, 6, 10, 12, 30, tzinfo=LON))
    assert lon.next_open(datetime(2026, 6, 10, 12, 30, tzinfo=LON)) == datetime(
        2026, 6, 10, 12, tzinfo=UTC
    )


def test_due_exactly_at_closing_time_is_the_closing_time(ny):
    # Monday 2026-06-08 09:00 EDT + 8h = 17:00 EDT the same day, not Tuesday 09:00
    due = ny.add_business_time(datetime(2026, 6, 8, 9, tzinfo=NY), 8 * H)
    assert due == datetime(2026, 6, 8, 21, tzinfo=UTC)


def test_start_in_closed_time_counts_from_the_next_opening(ny):
    # Saturday 2026-06-13 10:00 + 1h -> Monday 2026-06-15 10:00 EDT
    due = ny.add_business_time(datetime(2026, 6, 13, 10, tzinfo=NY), H)
    assert due == datetime(2026, 6, 15, 14, tzinfo=UTC)
    assert ny.add_business_time(datetime(2026, 6, 13, 10, tzinfo=NY), timedelta(0)) == datetime(
        2026, 6, 13, 14, tzinfo=UTC
    )


def test_any_zone_in_utc_out(ny):
    tokyo = datetime(2026, 6, 9, 0, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # = Mon 11:00 EDT
    due = ny.add_business_time(tokyo, H)
    assert due == datetime(2026, 6, 8, 16, tzinfo=UTC)
    assert due.utcoffset() == timedelta(0)


def test_between_is_negative_when_reversed(ny):
    a, b = datetime(2026, 6, 8, 9, tzinfo=NY), datetime(2026, 6, 10, 12, tzinfo=NY)
    assert ny.business_time_between(a, b) == 19 * H  # 8 + 8 + 3
    assert ny.business_time_between(b, a) == -19 * H


def test_holidays_by_date_and_by_rrule():
    cal = make(
        "us",
        "America/New_York",
        ["09:00-17:00"],
        holidays=[
            {"name": "Thanksgiving", "rrule": "FREQ=YEARLY;BYMONTH=11;BYDAY=+4TH"},
            {"name": "Day after", "date": "2026-11-27"},
            {"name": "New Year", "rrule": "RRULE:FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1"},
        ],
    )
    # Thanksgiving 2026 is Thursday 2026-11-26 (fourth Thursday). Wed 16:00 + 2h -> Mon 10:00.
    assert not cal.is_open(datetime(2026, 11, 26, 10, tzinfo=NY))
    due = cal.add_business_time(datetime(2026, 11, 25, 16, tzinfo=NY), 2 * H)
    assert due == datetime(2026, 11, 30, 15, tzinfo=UTC)
    # across the year end: Thu 2026-12-31 16:00 + 2h; Fri 2027-01-01 is closed -> Mon 01-04 10:00
    due = cal.add_business_time(datetime(2026, 12, 31, 16, tzinfo=NY), 2 * H)
    assert due == datetime(2027, 1, 4, 15, tzinfo=UTC)


def test_rrule_holiday_respects_dtstart_and_until():
    cal = make(
        "u",
        "UTC",
        ["09:00-17:00"],
        days=ALL_DAYS,
        holidays=[
            {
                "rrule": "FREQ=YEARLY;BYMONTH=7;BYMONTHDAY=1",
                "dtstart": "2025-01-01",
                "until": "2026-12-31",
            },
        ],
    )
    assert cal.is_open(datetime(2024, 7, 1, 10, tzinfo=UTC))
    assert not cal.is_open(datetime(2025, 7, 1, 10, tzinfo=UTC))
    assert not cal.is_open(datetime(2026, 7, 1, 10, tzinfo=UTC))
    assert cal.is_open(datetime(2027, 7, 1, 10, tzinfo=UTC))


def test_is_open_and_next_open(ny):
    assert ny.is_open(datetime(2026, 6, 8, 9, tzinfo=NY))
    assert not ny.is_open(datetime(2026, 6, 8, 17, tzinfo=NY))  # closing instant is closed
    assert ny.next_open(datetime(2026, 6, 8, 10, tzinfo=NY)) == datetime(2026, 6, 8, 14, tzinfo=UTC)
    assert ny.next_open(datetime(2026, 6, 12, 18, tzinfo=NY)) == datetime(
        2026, 6, 15, 13, tzinfo=UTC
    )


def test_builtin_24x7_is_plain_elapsed_time():
    cal = BusinessCalendar.twenty_four_seven()
    a = datetime(2026, 3, 7, 12, tzinfo=NY)
    b = datetime(2026, 3, 8, 12, tzinfo=NY)  # 23 hours later in real time
    assert cal.business_time_between(a, b) == 23 * H
    assert cal.add_business_time(a, 23 * H) == b
    assert cal.is_open(a) and cal.next_open(a) == a


def test_naive_datetimes_are_refused(ny):
    with pytest.raises(MarketopsError, match="no time zone"):
        ny.add_business_time(datetime(2026, 6, 8, 9), H)


def test_calendar_that_never_opens_is_reported():
    cal = make("never", "UTC", ["09:00-17:00"], holidays=[{"rrule": "FREQ=DAILY"}])
    with pytest.raises(MarketopsError, match="no open time"):
        cal.add_business_time(datetime(2026, 1, 1, tzinfo=UTC), H)


def test_far_past_and_future_extend_the_tables(ny):
    a, b = datetime(1999, 12, 31, 16, tzinfo=NY), datetime(2060, 1, 2, 10, tzinfo=NY)
    expected = brute_between("America/New_York", ["09:00-17:00"], WEEKDAYS, set(), a, b)
    assert ny.business_time_between(a, b) == expected
    assert ny.add_business_time(a, expected) == b.astimezone(UTC)


@pytest.mark.parametrize("tz", ["America/New_York", "Europe/London", "Australia/Lord_Howe"])
def test_random_intervals_agree_with_a_day_by_day_oracle(tz):
    # Lord Howe Island shifts by 30 minutes: a DST change that is not a whole hour.
    rng = random.Random(20261125)
    zone = ZoneInfo(tz)
    intervals = ["00:30-02:30", "08:00-12:00", "13:00-17:45", "22:00-24:00"]
    days = ("mon", "tue", "wed", "thu", "fri", "sun")
    holidays = {date(2026, 3, 9), date(2026, 11, 2), date(2026, 10, 5)}
    cal = make(
        "r", tz, intervals, days=days, holidays=[{"date": d.isoformat()} for d in sorted(holidays)]
    )
    base = datetime(2026, 1, 1, tzinfo=zone)
    for _ in range(150):
        a = base + timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
        b = a + timedelta(minutes=rng.randrange(0, 21 * 24 * 60))
        expected = brute_between(tz, intervals, days, holidays, a, b)
        assert cal.business_time_between(a, b) == expected
        due = cal.add_business_time(a, expected)
        assert due <= b
        assert cal.business_time_between(a, due) == expected
        if expected:
            assert cal.business_time_between(due, b) == timedelta(0)
