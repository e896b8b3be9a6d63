"""Business-hours arithmetic on a calendar with an IANA zone, working hours and holidays.

Business time is real elapsed time (what a stopwatch shows) spent inside the calendar's open
intervals. Open intervals are declared in local wall-clock time and converted to UTC day by day, so
a 09:00-17:00 day is 8 hours on DST-change days too, while a 00:00-24:00 day is 23 or 25 hours.

Speed comes from flattening the calendar into sorted UTC interval arrays (integer microseconds)
with a running total of business time at each interval start: both `add_business_time` and
`business_time_between` are then two binary searches. The arrays cover whole local years and grow
on demand, so the calendar works for any date without a configured horizon.
"""

from __future__ import annotations

import datetime as dt
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from marketops.errors import MarketopsError, Problem
from marketops.ops.calendars.models import BUILTIN_24X7, RRULE_ANCHOR, CalendarSpec
from marketops.ops.calendars.timeparse import zone as load_zone

UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
US = dt.timedelta(microseconds=1)
# A calendar whose hours are all eaten by holidays would make add_business_time search forever.
MAX_EMPTY_YEARS = 5

Minutes = tuple[int, int]  # (start, end) minutes after local midnight; end may be 1440
HolidayFn = Callable[[int], set[dt.date]]


def _to_us(value: dt.datetime) -> int:
    if value.tzinfo is None or value.utcoffset() is None:
        raise MarketopsError(
            f"{value.isoformat()} has no time zone",
            [Problem("datetime", "naive datetime", "pass a timezone-aware datetime (e.g. UTC)")],
        )
    return (value - EPOCH) // US


def _from_us(value: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=value)


def _holidays_from_spec(spec: CalendarSpec) -> HolidayFn:
    fixed = {h.date for h in spec.holidays if h.date is not None}
    rules = [
        (
            rrulestr(
                h.rrule,
                dtstart=dt.datetime.combine(h.dtstart, dt.time()) if h.dtstart else RRULE_ANCHOR,
                cache=True,
            ),
            h.until,
        )
        for h in spec.holidays
        if h.rrule is not None
    ]

    def for_year(year: int) -> set[dt.date]:
        days = {d for d in fixed if d.year == year}
        lo, hi = dt.datetime(year, 1, 1), dt.datetime(year, 12, 31, 23, 59, 59)
        for rule, until in rules:
            days.update(
                occ.date()
                for occ in rule.between(lo, hi, inc=True)
                if until is None or occ.date() <= until
            )
        return days

    return for_year


@dataclass(frozen=True, slots=True)
class _Tables:
    """One immutable snapshot of the flattened calendar, swapped whole when it grows."""

    lo: int  # covered span in UTC microseconds [lo, hi): whole local years y0..y1
    hi: int
    y0: int
    y1: int
    starts: list[int]
    ends: list[int]
    cum: list[int]  # business microseconds from `lo` to each interval start
    cum_end: list[int]

    EMPTY: ClassVar[_Tables]

    @property
    def total(self) -> int:
        return self.cum_end[-1] if self.cum_end else 0

    def cum_at(self, us: int) -> int:
        i = bisect_right(self.starts, us) - 1
        if i < 0:
            return 0
        return self.cum[i] + min(us, self.ends[i]) - self.starts[i]


_Tables.EMPTY = _Tables(0, 0, 0, 0, [], [], [], [])


class BusinessCalendar:
    """A named business-hours calendar. Any aware datetime in; UTC datetimes out."""

    def __init__(
        self,
        name: str,
        timezone: str,
        week: Sequence[Sequence[Minutes]],
        holidays: HolidayFn | Iterable[dt.date] = (),
        *,
        always_open: bool = False,
    ) -> None:
        if len(week) != 7:
            raise ValueError("week needs 7 lists of intervals, Monday first")
        self.name = name
        self.timezone = timezone
        self.zone: ZoneInfo = load_zone(timezone)
        self.week = [sorted(day) for day in week]
        if callable(holidays):
            self._holidays: HolidayFn = holidays
        else:
            fixed = set(holidays)
            self._holidays = lambda year: {d for d in fixed if d.year == year}
        self.always_open = always_open
        if not always_open and not any(self.week):
            raise ValueError(f"calendar {name!r} has no working hours")
        self._years: dict[int, list[tuple[int, int]]] = {}
        self._tables = _Tables.EMPTY
        self._lock = threading.Lock()  # readers take a snapshot; only growth is serialised

    # --- construction --------------------------------------------------------------------------
    @classmethod
    def from_spec(cls, spec: CalendarSpec) -> BusinessCalendar:
        week = [
            [(sh * 60 + sm, eh * 60 + em) for (sh, sm), (eh, em) in spec.hours.intervals(day)]
            for day in range(7)
        ]
        return cls(spec.name, spec.timezone, week, _holidays_from_spec(spec))

    @classmethod
    def twenty_four_seven(cls) -> BusinessCalendar:
        return cls(BUILTIN_24X7, "UTC", [[(0, 1440)]] * 7, always_open=True)

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.name!r}, {self.timezone!r})"

    # --- public API ----------------------------------------------------------------------------
    def add_business_time(self, start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        """The due time: the instant when `duration` of business time has passed after `start`.

        A due time that lands exactly on a closing time is that closing time (Friday 17:00), not
        the next opening. A zero duration returns `start` itself, open or not.
        """
        if duration < dt.timedelta(0):
            raise ValueError("duration must not be negative")
        t = _to_us(start)
        if self.always_open or not duration:
            return _from_us(t) + duration
        tb = self._cover(t)
        target = tb.cum_at(t) + duration // US
        empty = 0
        while (j := bisect_left(tb.cum_end, target)) == len(tb.cum_end):
            tb, empty = self._grow_forward(tb, empty)
        return _from_us(tb.starts[j] + target - tb.cum[j])

    def business_time_between(self, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        """Business time from `a` to `b`; negative when `b` is before `a`."""
        ta, tb_us = _to_us(a), _to_us(b)
        if self.always_open:
            return dt.timedelta(microseconds=tb_us - ta)
        self._cover(ta)
        tb = self._cover(tb_us)  # tables only grow, so these cover `ta` too
        return dt.timedelta(microseconds=tb.cum_at(tb_us) - tb.cum_at(ta))

    def is_open(self, t: dt.datetime) -> bool:
        us = _to_us(t)
        if self.always_open:
            return True
        tb = self._cover(us)
        i = bisect_right(tb.starts, us) - 1
        return i >= 0 and us < tb.ends[i]

    def next_open(self, t: dt.datetime) -> dt.datetime:
        """`t` itself (in UTC) when open, else the next opening."""
        us = _to_us(t)
        if self.always_open:
            return _from_us(us)
        tb = self._cover(us)
        empty = 0
        while True:
            i = bisect_right(tb.starts, us) - 1
            if i >= 0 and us < tb.ends[i]:
                return _from_us(us)
            if i + 1 < len(tb.starts):
                return _from_us(tb.starts[i + 1])
            tb, empty = self._grow_forward(tb, empty)

    def open_intervals(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The UTC open intervals declared for local `day` (empty on holidays and closed days)."""
        if self.always_open:
            start = dt.datetime.combine(day, dt.time(), tzinfo=UTC)
            return [(start, start + dt.timedelta(days=1))]
        return [(_from_us(s), _from_us(e)) for s, e in self._day(day, self._holidays(day.year))]

    # --- flattening ----------------------------------------------------------------------------
    def _local_us(self, day: dt.date, minutes: int) -> int:
        extra, minutes = divmod(minutes, 1440)
        local = dt.datetime.combine(
            day + dt.timedelta(days=extra), dt.time(minutes // 60, minutes % 60), tzinfo=self.zone
        )
        return _to_us(local)

    def _day(self, day: dt.date, holidays: set[dt.date]) -> list[tuple[int, int]]:
        if day in holidays:
            return []
        out = []
        for start, end in self.week[day.weekday()]:
            s, e = self._local_us(day, start), self._local_us(day, end)
            if e > s:  # an interval inside a spring-forward gap has no real time
                out.append((s, e))
        return out

    def _year(self, year: int) -> list[tuple[int, int]]:
        if year not in self._years:
            holidays = self._holidays(year)
            day, out = dt.date(year, 1, 1), []
            while day.year == year:
                out.extend(self._day(day, holidays))
                day += dt.timedelta(days=1)
            self._years[year] = out
        return self._years[year]

    def _year_start_us(self, year: int) -> int:
        return self._local_us(dt.date(year, 1, 1), 0)

    def _build(self, y0: int, y1: int) -> _Tables:
        merged: list[list[int]] = []
        for y in range(y0, y1 + 1):
            for s, e in self._year(y):
                if merged and s <= merged[-1][1]:  # touching or overlapping (DST): one interval
                    merged[-1][1] = max(merged[-1][1], e)
                else:
                    merged.append([s, e])
        cum, total = [], 0
        for s, e in merged:
            cum.append(total)
            total += e - s
        return _Tables(
            lo=self._year_start_us(y0),
            hi=self._year_start_us(y1 + 1),
            y0=y0,
            y1=y1,
            starts=[s for s, _ in merged],
            ends=[e for _, e in merged],
            cum=cum,
            cum_end=[c + e - s for c, (s, e) in zip(cum, merged, strict=True)],
        )

    def _extend_to(self, year: int) -> _Tables:
        with self._lock:
            tb = self._tables
            if tb.lo == tb.hi:
                tb = self._build(year, year)
            elif not tb.y0 <= year <= tb.y1:
                tb = self._build(min(tb.y0, year), max(tb.y1, year))
            self._tables = tb
            return tb

    def _cover(self, us: int) -> _Tables:
        tb = self._tables
        while not (tb.lo <= us < tb.hi):
            tb = self._extend_to(_from_us(us).astimezone(self.zone).year)
        return tb

    def _grow_forward(self, tb: _Tables, empty_years: int) -> tuple[_Tables, int]:
        """Cover one more year; refuse to search on when years in a row have no open time."""
        grown = self._extend_to(tb.y1 + 1)
        empty_years = empty_years + 1 if grown.total == tb.total else 0
        if empty_years >= MAX_EMPTY_YEARS:
            raise MarketopsError(
                f"calendar {self.name!r} has no open time in {MAX_EMPTY_YEARS} years",
                [
                    Problem(
                        f"calendar {self.name}",
                        "no working time left",
                        "check its hours and holidays",
                    )
                ],
            )
        return grown, empty_years
