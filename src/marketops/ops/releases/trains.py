"""Release trains and change freezes: expanding RRULEs into windows, booking, freeze checks.

Rules are expanded by dateutil's rrule in the local wall-clock time of their zone and then
converted to UTC, so "Tuesdays 10:00 America/New_York" stays at 10:00 local across DST changes.
A window's end is its local start plus the duration on the wall clock ("Friday 15:00 + 66h" ends
Monday 09:00 local even when the clocks change over that weekend). Local times that do not exist
(spring-forward gap) or exist twice (fall-back) resolve as zoneinfo does with fold=0: the offset
in force before the change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from marketops.errors import MarketopsError, Problem
from marketops.ops.calendars.timeparse import zone as load_zone
from marketops.ops.releases.models import DEFAULT_DTSTART, Freeze, ReleasesFile, Train, as_local

UTC = dt.UTC
DEFAULT_HORIZON = dt.timedelta(days=366)
_CHUNK = dt.timedelta(days=35)


@dataclass(frozen=True)
class Window:
    kind: str  # "train" or "freeze"
    name: str
    start: dt.datetime  # UTC
    end: dt.datetime  # UTC, exclusive
    capacity: int = 0  # launches per window (trains only)
    reason: str = ""  # why the freeze exists (freezes only)

    def overlaps(self, start: dt.datetime, end: dt.datetime) -> bool:
        return self.start < end and start < self.end


@dataclass(frozen=True)
class Booking:
    """A launch already on a train. `train=None` counts against every window it falls in."""

    at: dt.datetime
    train: str | None = None
    ref: str = ""


@dataclass(frozen=True)
class TrainSlot:
    train: str
    window_start: dt.datetime
    window_end: dt.datetime
    launch_at: dt.datetime
    capacity: int
    booked: int

    @property
    def free(self) -> int:
        return self.capacity - self.booked


@dataclass(frozen=True)
class LaunchCheck:
    at: dt.datetime
    duration: dt.timedelta
    allowed: bool
    blocked_by: tuple[Window, ...]  # every freeze the launch touches, even when overridden
    overridden: bool
    override_reason: str | None  # recorded for the audit trail when `overridden`
    train_window: Window | None  # the release window the launch falls in, if any


class _Rule:
    """One train or freeze compiled: its zone and rule, ready to expand over a UTC range."""

    def __init__(self, kind: str, item: Train | Freeze, default_zone: str) -> None:
        self.kind, self.item = kind, item
        self.zone: ZoneInfo = load_zone(item.timezone or default_zone)
        self.rule: rrule | None = None
        if item.rrule is not None:
            self.rule = rrulestr(item.rrule, dtstart=item.dtstart or DEFAULT_DTSTART, cache=True)
        self.duration = item.duration or dt.timedelta(0)

    def _utc(self, local: dt.datetime) -> dt.datetime:
        return local.replace(tzinfo=self.zone).astimezone(UTC)

    def _window(self, start_local: dt.datetime, end_local: dt.datetime) -> Window:
        item = self.item
        return Window(
            kind=self.kind,
            name=item.name,
            start=self._utc(start_local),
            end=self._utc(end_local),
            capacity=item.capacity if isinstance(item, Train) else 0,
            reason=item.reason if isinstance(item, Freeze) else "",
        )

    def windows(self, start: dt.datetime, end: dt.datetime) -> list[Window]:
        """Windows overlapping [start, end) (aware datetimes)."""
        if self.rule is None:
            assert isinstance(self.item, Freeze) and self.item.start and self.item.end
            w = self._window(as_local(self.item.start), as_local(self.item.end))
            return [w] if w.overlaps(start, end) else []
        day = dt.timedelta(days=1)
        lo = (start.astimezone(self.zone) - self.duration - day).replace(tzinfo=None)
        hi = (end.astimezone(self.zone) + day).replace(tzinfo=None)
        out = []
        for occ in self.rule.between(lo, hi, inc=True):
            w = self._window(occ, occ + self.duration)
            if w.overlaps(start, end):
                out.append(w)
        return out


def _aware(value: dt.datetime, where: str) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise MarketopsError(
            f"{where} must be a timezone-aware datetime",
            [Problem(where, f"{value!r} has no time zone", "add a UTC offset")],
        )
    return value.astimezone(UTC)


class ReleaseCalendar:
    """The release trains and freezes of one workspace; every method is pure."""

    def __init__(self, model: ReleasesFile) -> None:
        self.model = model
        self.trains = [_Rule("train", t, model.timezone) for t in model.trains]
        self.freezes = [_Rule("freeze", f, model.timezone) for f in model.freezes]

    def windows(
        self, start: dt.datetime, end: dt.datetime, *, trains: bool = True, freezes: bool = True
    ) -> list[Window]:
        """Release windows and freezes overlapping [start, end), by start time."""
        start, end = _aware(start, "from"), _aware(end, "to")
        rules = (self.trains if trains else []) + (self.freezes if freezes else [])
        return sorted(
            (w for r in rules for w in r.windows(start, end)),
            key=lambda w: (w.start, w.kind, w.name),
        )

    def freezes_over(self, start: dt.datetime, end: dt.datetime) -> list[Window]:
        """Freezes touching [start, end); a zero-length span means the instant `start`."""
        end = max(end, start + dt.timedelta(microseconds=1))
        return self.windows(start, end, trains=False)

    def check_launch(
        self,
        at: dt.datetime,
        duration: dt.timedelta = dt.timedelta(0),
        override_reason: str | None = None,
    ) -> LaunchCheck:
        """May a launch happen at `at`? Refused inside a freeze unless a reason is given."""
        at = _aware(at, "at")
        if duration < dt.timedelta(0):
            raise MarketopsError(
                "duration must not be negative",
                [Problem("duration", str(duration), "give a positive duration")],
            )
        blocked = tuple(self.freezes_over(at, at + duration))
        reason = (override_reason or "").strip() or None
        inside = self.windows(at, at + dt.timedelta(microseconds=1), freezes=False)
        return LaunchCheck(
            at=at,
            duration=duration,
            allowed=not blocked or reason is not None,
            blocked_by=blocked,
            overridden=bool(blocked) and reason is not None,
            override_reason=reason if blocked else None,
            train_window=inside[0] if inside else None,
        )

    def upcoming_trains(
        self,
        after: dt.datetime,
        existing_bookings: Iterable[Booking] = (),
        duration: dt.timedelta = dt.timedelta(0),
        *,
        count: int = 1,
        train: str | None = None,
        horizon: dt.timedelta = DEFAULT_HORIZON,
    ) -> list[TrainSlot]:
        """The next `count` windows where a launch of `duration` fits, has room and is not frozen.

        The launch goes at the window's start (or at `after` if the window is already open) and
        must end by the window's end; a window whose launch would touch a freeze is skipped.
        """
        after = _aware(after, "after")
        bookings = self._check_bookings(existing_bookings)
        if train is not None and train not in {t.item.name for t in self.trains}:
            raise MarketopsError(
                f"unknown train {train!r}",
                [
                    Problem(
                        "train",
                        f"no train named {train!r}",
                        f"known: {sorted(t.item.name for t in self.trains)}",
                    )
                ],
            )
        rules = [t for t in self.trains if train is None or t.item.name == train]
        slots: list[TrainSlot] = []
        lo, stop = after, after + horizon
        while lo < stop and len(slots) < count:
            hi = min(lo + _CHUNK, stop)
            found = sorted(
                (w for r in rules for w in r.windows(lo, hi) if w.start >= lo or lo == after),
                key=lambda w: (w.start, w.name),
            )
            for w in found:
                slot = self._slot(w, after, duration, bookings)
                if slot is not None:
                    slots.append(slot)
                    if len(slots) == count:
                        break
            lo = hi
        return slots

    def next_train(
        self,
        after: dt.datetime,
        existing_bookings: Iterable[Booking] = (),
        duration: dt.timedelta = dt.timedelta(0),
        *,
        train: str | None = None,
        horizon: dt.timedelta = DEFAULT_HORIZON,
    ) -> TrainSlot:
        """The first window with room for a launch of `duration` after `after`."""
        slots = self.upcoming_trains(
            after, existing_bookings, duration, count=1, train=train, horizon=horizon
        )
        if not slots:
            days = horizon.days
            raise MarketopsError(
                f"no release window with free capacity in the {days} days after {after}",
                [
                    Problem(
                        "releases.yml",
                        "no free train",
                        "add capacity or windows, or check the freezes",
                    )
                ],
            )
        return slots[0]

    # --- internals ---------------------------------------------------------------------------
    def _check_bookings(self, bookings: Iterable[Booking]) -> list[Booking]:
        names = {t.item.name for t in self.trains}
        out, problems = [], []
        for i, b in enumerate(bookings):
            if not isinstance(b.at, dt.datetime) or b.at.utcoffset() is None:
                problems.append(
                    Problem(f"bookings[{i}].at", f"{b.at!r} has no time zone", "add a UTC offset")
                )
            elif b.train is not None and b.train not in names:
                problems.append(
                    Problem(
                        f"bookings[{i}].train",
                        f"unknown train {b.train!r}",
                        f"known: {sorted(names)}",
                    )
                )
            else:
                out.append(b)
        if problems:
            raise MarketopsError(f"{len(problems)} bad booking(s)", problems)
        return out

    def _slot(
        self, w: Window, after: dt.datetime, duration: dt.timedelta, bookings: list[Booking]
    ) -> TrainSlot | None:
        launch_at = max(w.start, after)
        if launch_at + duration > w.end or launch_at >= w.end:
            return None
        if self.freezes_over(launch_at, launch_at + duration):
            return None
        booked = sum(
            1
            for b in bookings
            if w.start <= b.at < w.end and (b.train is None or b.train == w.name)
        )
        if booked >= w.capacity:
            return None
        return TrainSlot(
            train=w.name,
            window_start=w.start,
            window_end=w.end,
            launch_at=launch_at,
            capacity=w.capacity,
            booked=booked,
        )
