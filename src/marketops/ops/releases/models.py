"""The `releases.yml` workspace file: release trains (windows with capacity) and change freezes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from marketops.ops.calendars.models import check_rrule
from marketops.ops.calendars.timeparse import parse_duration, zone

DEFAULT_DTSTART = dt.datetime(2000, 1, 1)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _duration(value: Any) -> dt.timedelta:
    duration = parse_duration(value)
    if duration <= dt.timedelta(0):
        raise ValueError("duration must be positive")
    return duration


class _Recurring(Strict):
    name: str
    timezone: str | None = Field(None, description="IANA zone; default: the file's `timezone`")
    rrule: str | None = Field(None, description="RFC 5545 RRULE giving each start, local time")
    dtstart: dt.datetime | None = Field(
        None, description="local wall-clock anchor of the rule (default 2000-01-01T00:00)"
    )
    duration: dt.timedelta | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        if value is not None:
            zone(value)
        return value

    @field_validator("rrule")
    @classmethod
    def _rrule(cls, value: str | None) -> str | None:
        return None if value is None else check_rrule(value)

    @field_validator("dtstart")
    @classmethod
    def _naive(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is not None:
            raise ValueError("write `dtstart` as local wall-clock time, without an offset")
        return value

    @field_validator("duration", mode="before")
    @classmethod
    def _dur(cls, value: Any) -> Any:
        return None if value is None else _duration(value)


class Train(_Recurring):
    """A recurring release window, e.g. Tue/Thu 10:00-12:00, taking `capacity` launches each."""

    rrule: str = Field(description="e.g. FREQ=WEEKLY;BYDAY=TU,TH;BYHOUR=10;BYMINUTE=0;BYSECOND=0")
    duration: dt.timedelta
    capacity: int = Field(1, ge=1, description="launches per window")


class Freeze(_Recurring):
    """No launches: recurring (`rrule` + `duration`) or dated (`start` + `end`, local time)."""

    start: dt.datetime | dt.date | None = None
    end: dt.datetime | dt.date | None = Field(None, description="exclusive; a date means 00:00")
    reason: str = ""

    @model_validator(mode="after")
    def _kind(self) -> Freeze:
        recurring = self.rrule is not None
        dated = self.start is not None or self.end is not None
        if recurring == dated:
            raise ValueError(
                f"freeze `{self.name}` needs either `rrule` + `duration` or `start` + `end`"
            )
        if recurring and self.duration is None:
            raise ValueError(f"freeze `{self.name}` needs a `duration` with its `rrule`")
        if dated:
            if self.start is None or self.end is None or self.duration is not None:
                raise ValueError(f"dated freeze `{self.name}` needs `start` and `end` only")
            for value in (self.start, self.end):
                if isinstance(value, dt.datetime) and value.tzinfo is not None:
                    raise ValueError("write `start`/`end` as local time, without an offset")
            if as_local(self.end) <= as_local(self.start):
                raise ValueError(f"freeze `{self.name}` ends before it starts")
        return self


def as_local(value: dt.datetime | dt.date) -> dt.datetime:
    """A date means its local midnight."""
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time())


class ReleasesFile(Strict):
    timezone: str = Field("UTC", description="default IANA zone for trains and freezes")
    trains: list[Train] = []
    freezes: list[Freeze] = []

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        zone(value)
        return value

    @model_validator(mode="after")
    def _unique(self) -> ReleasesFile:
        for kind, items in (("train", self.trains), ("freeze", self.freezes)):
            names = [i.name for i in items]
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise ValueError(f"{kind} names must be unique; repeated: {dup}")
        return self
