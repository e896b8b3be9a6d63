"""SLA clocks with Jira Service Management semantics, as a pure function over an event log.

Semantics (JSM "time to first response"/"time to resolution" goals):

- A goal is a business duration on a calendar; time only counts while the calendar is open.
- `start` events start a cycle when none is running; `stop` events end the running cycle. A clock
  that is stopped and started again opens a new cycle, measured separately (its own elapsed time,
  breach and breach time), as JSM does for multi-cycle SLAs.
- `pause` events enter a paused state and `resume` events leave it (JSM's "pause while status is
  Waiting for customer"). The state belongs to the issue, not the cycle: a cycle started while
  paused starts paused, and a pause seen while no cycle runs still applies to the next one.
- An event in both `stop` and `start` closes the running cycle and opens a new one (a restart).
- Elapsed time is measured up to `now`; events after `now` are not yet known and are ignored.
- A cycle is breached when its elapsed time exceeds the goal. `breach_at` is the instant the
  elapsed time reached (or, if the clock keeps running, will reach) the goal; it is None while a
  cycle that has not reached its goal is paused or stopped, since no breach can come of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from marketops.errors import MarketopsError, Problem
from marketops.ops.calendars.business import BusinessCalendar
from marketops.ops.calendars.timeparse import parse_duration

ZERO = dt.timedelta(0)


@dataclass(frozen=True)
class SlaGoal:
    name: str
    target: dt.timedelta
    calendar: BusinessCalendar
    start: frozenset[str]
    stop: frozenset[str]
    pause: frozenset[str] = frozenset()
    resume: frozenset[str] = frozenset()


class SlaGoalSpec(BaseModel):
    """An SLA goal as other workspace files declare it (lead SLAs, request SLAs)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    calendar: str = Field("24x7", description="a calendar in calendars.yml, or 24x7")
    target: dt.timedelta = Field(description="business time, e.g. 4h, 2d, PT30M")
    start: list[str] = Field(min_length=1, description="events that start a cycle")
    stop: list[str] = Field(min_length=1, description="events that stop the running cycle")
    pause: list[str] = []
    resume: list[str] = []

    @field_validator("target", mode="before")
    @classmethod
    def _target(cls, value: Any) -> dt.timedelta:
        target = parse_duration(value)
        if target <= ZERO:
            raise ValueError("target must be positive")
        return target

    @model_validator(mode="after")
    def _pairs(self) -> SlaGoalSpec:
        if bool(self.pause) != bool(self.resume):
            raise ValueError("`pause` and `resume` go together: a paused clock must be resumable")
        return self

    def compile(self, calendars: Mapping[str, BusinessCalendar], where: str = "") -> SlaGoal:
        """Bind the calendar by name; an unknown name is the user's to fix."""
        if self.calendar not in calendars:
            raise MarketopsError(
                f"SLA goal {self.name!r} uses unknown calendar {self.calendar!r}",
                [
                    Problem(
                        where or f"sla {self.name}.calendar",
                        f"no calendar named {self.calendar!r}",
                        f"declare it in calendars.yml; known: {', '.join(sorted(calendars))}",
                    )
                ],
            )
        return SlaGoal(
            name=self.name,
            target=self.target,
            calendar=calendars[self.calendar],
            start=frozenset(self.start),
            stop=frozenset(self.stop),
            pause=frozenset(self.pause),
            resume=frozenset(self.resume),
        )


@dataclass(frozen=True)
class SlaCycle:
    index: int  # 1 for the first cycle
    started_at: dt.datetime
    stopped_at: dt.datetime | None
    state: str  # "running", "paused" or "stopped"
    elapsed: dt.timedelta
    remaining: dt.timedelta  # negative once breached, as JSM shows it
    breached: bool
    breach_at: dt.datetime | None

    @property
    def met(self) -> bool:
        return self.state == "stopped" and not self.breached


@dataclass(frozen=True)
class SlaStatus:
    goal: str
    target: dt.timedelta
    now: dt.datetime
    cycles: tuple[SlaCycle, ...] = field(default_factory=tuple)

    @property
    def current(self) -> SlaCycle | None:
        """The latest cycle (running, paused or the last completed one)."""
        return self.cycles[-1] if self.cycles else None

    @property
    def ongoing(self) -> SlaCycle | None:
        last = self.current
        return last if last is not None and last.state != "stopped" else None


@dataclass
class _Cycle:
    started_at: dt.datetime
    elapsed: dt.timedelta = ZERO
    running_since: dt.datetime | None = None
    stopped_at: dt.datetime | None = None
    breach_at: dt.datetime | None = None


def _check_events(events: Iterable[tuple[dt.datetime, str]]) -> list[tuple[dt.datetime, str]]:
    out, problems = [], []
    for i, item in enumerate(events):
        try:
            at, name = item
        except (TypeError, ValueError):
            problems.append(Problem(f"events[{i}]", "not a (timestamp, event) pair"))
            continue
        if not isinstance(at, dt.datetime) or at.utcoffset() is None:
            problems.append(
                Problem(
                    f"events[{i}].timestamp",
                    f"{at!r} is not timezone-aware",
                    "give every event an aware datetime",
                )
            )
        elif not isinstance(name, str) or not name:
            problems.append(Problem(f"events[{i}].event", f"{name!r} is not an event name"))
        else:
            out.append((at, name))
    if problems:
        raise MarketopsError(f"{len(problems)} bad SLA event(s)", problems)
    return sorted(out, key=lambda e: e[0])  # stable: same-instant events keep their order


def evaluate_sla(
    goal: SlaGoal, events: Iterable[tuple[dt.datetime, str]], now: dt.datetime
) -> SlaStatus:
    """Every cycle of `goal` as of `now`, from the issue's event log (any order, aware times)."""
    if now.utcoffset() is None:
        raise MarketopsError("`now` must be timezone-aware", [Problem("now", "naive datetime")])
    cal = goal.calendar
    cycles: list[_Cycle] = []
    paused = False

    def run_until(cycle: _Cycle, until: dt.datetime, predict: bool = False) -> None:
        """Close the running segment at `until`, noting when it reached the goal (or will)."""
        since = cycle.running_since
        if since is None:
            return
        before = cycle.elapsed
        cycle.elapsed = before + cal.business_time_between(since, until)
        if (
            cycle.breach_at is None
            and before < goal.target
            and (predict or cycle.elapsed >= goal.target)
        ):
            cycle.breach_at = cal.add_business_time(since, goal.target - before)
        cycle.running_since = None

    for at, name in _check_events(events):
        if at > now:
            break
        current = cycles[-1] if cycles and cycles[-1].stopped_at is None else None
        if name in goal.stop and current is not None:
            run_until(current, at)
            current.stopped_at = at
            current = None
        if name in goal.pause:
            paused = True
            if current is not None:
                run_until(current, at)
        if name in goal.resume and paused:
            paused = False
            if current is not None:
                current.running_since = at
        if name in goal.start and current is None:
            cycles.append(_Cycle(started_at=at, running_since=None if paused else at))

    out = []
    for i, cycle in enumerate(cycles, start=1):
        if cycle.stopped_at is not None:
            state = "stopped"
        elif cycle.running_since is None:
            state = "paused"
        else:
            state = "running"
            run_until(cycle, now, predict=True)
        breached = cycle.elapsed > goal.target
        out.append(
            SlaCycle(
                index=i,
                started_at=cycle.started_at.astimezone(dt.UTC),
                stopped_at=cycle.stopped_at.astimezone(dt.UTC) if cycle.stopped_at else None,
                state=state,
                elapsed=cycle.elapsed,
                remaining=goal.target - cycle.elapsed,
                breached=breached,
                breach_at=cycle.breach_at if breached or state == "running" else None,
            )
        )
    return SlaStatus(
        goal=goal.name, target=goal.target, now=now.astimezone(dt.UTC), cycles=tuple(out)
    )
