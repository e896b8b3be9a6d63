"""Helpers for the calendar tests: calendars built from the YAML shapes users write, an oracle."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from marketops.ops.calendars import BusinessCalendar, CalendarSpec

NY = ZoneInfo("America/New_York")
LON = ZoneInfo("Europe/London")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
ALL_DAYS = (*WEEKDAYS, "sat", "sun")


def make(name: str, tz: str, intervals: list[str], days=WEEKDAYS, holidays=()) -> BusinessCalendar:
    spec = CalendarSpec.model_validate(
        {
            "name": name,
            "timezone": tz,
            "hours": {d: intervals for d in days},
            "holidays": list(holidays),
        }
    )
    return BusinessCalendar.from_spec(spec)


def brute_between(
    tz: str, intervals: list[str], days, holidays: set[date], a: datetime, b: datetime
) -> timedelta:
    """Oracle, independent of the calendar code: walk local days, localise each interval with
    zoneinfo and add up its overlap with [a, b] in UTC."""
    zone = ZoneInfo(tz)
    names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    total = timedelta(0)
    day = a.astimezone(zone).date() - timedelta(days=1)
    last = b.astimezone(zone).date() + timedelta(days=1)
    while day <= last:
        if names[day.weekday()] in days and day not in holidays:
            for text in intervals:
                left, right = text.split("-")
                start = datetime.combine(day, time.fromisoformat(left), tzinfo=zone)
                end = (
                    datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
                    if right == "24:00"
                    else datetime.combine(day, time.fromisoformat(right), tzinfo=zone)
                )
                lo = max(start.astimezone(UTC), a.astimezone(UTC))
                hi = min(end.astimezone(UTC), b.astimezone(UTC))
                if hi > lo:
                    total += hi - lo
        day += timedelta(days=1)
    return total
