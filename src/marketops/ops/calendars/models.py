"""The `calendars.yml` workspace file: business-hours calendars, as pydantic models."""

from __future__ import annotations

import datetime as dt
from itertools import pairwise

from dateutil.rrule import rrulestr
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from marketops.ops.calendars.timeparse import parse_clock, zone

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BUILTIN_24X7 = "24x7"
# RRULEs without DTSTART are anchored here; a holiday rule only needs a date pattern.
RRULE_ANCHOR = dt.datetime(1970, 1, 1)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def parse_interval(text: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """Parse "09:00-17:00" into ((9, 0), (17, 0)); the end must follow the start, same day."""
    if not isinstance(text, str) or text.count("-") != 1:
        raise ValueError(f"not an interval: {text!r} (use HH:MM-HH:MM, e.g. 09:00-17:00)")
    left, right = text.split("-")
    start, end = parse_clock(left), parse_clock(right)
    if start == (24, 0) or end <= start:
        raise ValueError(
            f"interval {text!r} must end after it starts on the same day; split a night shift"
            " into 22:00-24:00 on one day and 00:00-06:00 on the next"
        )
    return start, end


def check_rrule(text: str) -> str:
    """Validate an RRULE (with or without the `RRULE:` prefix) the way dateutil will read it."""
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    if "DTSTART" in body.upper():
        raise ValueError("put the start in `dtstart`, not inside the rule")
    try:
        rrulestr(body, dtstart=RRULE_ANCHOR)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"not a valid RRULE {text!r}: {exc} (RFC 5545, e.g. FREQ=WEEKLY;BYDAY=MO)"
        ) from exc
    return body


class Hours(Strict):
    """Open intervals per weekday, local wall-clock time. A missing day is closed."""

    mon: list[str] = []
    tue: list[str] = []
    wed: list[str] = []
    thu: list[str] = []
    fri: list[str] = []
    sat: list[str] = []
    sun: list[str] = []

    @field_validator(*WEEKDAYS)
    @classmethod
    def _intervals(cls, value: list[str]) -> list[str]:
        parsed = sorted(parse_interval(v) for v in value)
        for (_, prev_end), (start, _) in pairwise(parsed):
            if start < prev_end:
                raise ValueError(f"intervals overlap: {value}")
        return value

    def intervals(self, weekday: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
        """Sorted ((h, m), (h, m)) pairs for weekday 0=Monday."""
        return sorted(parse_interval(v) for v in getattr(self, WEEKDAYS[weekday]))


class Holiday(Strict):
    """A closed day: one `date`, or a recurring `rrule` (e.g. FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25)."""

    name: str = ""
    date: dt.date | None = None
    rrule: str | None = None
    dtstart: dt.date | None = Field(None, description="first day the rule applies (default 1970)")
    until: dt.date | None = Field(None, description="last day the rule applies")

    @field_validator("rrule")
    @classmethod
    def _rrule(cls, value: str | None) -> str | None:
        return None if value is None else check_rrule(value)

    @model_validator(mode="after")
    def _one_kind(self) -> Holiday:
        if (self.date is None) == (self.rrule is None):
            raise ValueError("a holiday needs exactly one of `date` or `rrule`")
        if self.date is not None and (self.dtstart or self.until):
            raise ValueError("`dtstart`/`until` only apply to an `rrule` holiday")
        return self


class CalendarSpec(Strict):
    name: str
    timezone: str = Field(description="IANA zone the hours are in, e.g. America/New_York")
    hours: Hours
    holidays: list[Holiday] = []
    description: str = ""

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if value == BUILTIN_24X7:
            raise ValueError(f"`{BUILTIN_24X7}` is built in; choose another name")
        if not value.strip():
            raise ValueError("a calendar needs a name")
        return value

    @model_validator(mode="after")
    def _some_hours(self) -> CalendarSpec:
        if not any(self.hours.intervals(d) for d in range(7)):
            raise ValueError(f"calendar `{self.name}` has no working hours on any weekday")
        return self


class CalendarsFile(Strict):
    calendars: list[CalendarSpec] = []

    @model_validator(mode="after")
    def _unique(self) -> CalendarsFile:
        names = [c.name for c in self.calendars]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"calendar names must be unique; repeated: {dup}")
        return self
