"""The journey YAML as pydantic models (extra="forbid": a typo is an error with file:line).

A step names an `id` and exactly one kind (`wait`, `branch`, `send_email`, …). Without `next` a
step continues with the step after it; the last step ends the journey ("completed").
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from marketops.ops.calendars.timeparse import parse_clock, parse_duration, zone
from marketops.workspace.conditions import Condition

STEP_KINDS = (
    "wait",
    "branch",
    "send_email",
    "notify_owner",
    "update_field",
    "change_stage",
    "add_to_list",
    "remove_from_list",
    "webhook",
    "exit",
)
TRIGGER_KINDS = ("segment", "form_fill", "activity", "stage", "score", "event", "track")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _duration(v: Any) -> timedelta:
    try:
        return parse_duration(v)
    except ValueError as exc:
        raise ValueError(str(exc)) from exc


class StageTrigger(_Strict):
    to: str
    from_: str | None = Field(None, alias="from")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ScoreTrigger(_Strict):
    """Entered when the score crosses `gte` from below (or a new lead starts at or above it)."""

    gte: float
    field: Literal["total_score", "fit_score", "engagement_score"] = "total_score"


class Trigger(_Strict):
    """Exactly one source of entries."""

    segment: str | None = None  # entry into a segment (segments' `segment_changes`)
    form_fill: bool | None = None  # an activity of type form_fill
    activity: str | None = None  # any other activity type
    stage: StageTrigger | None = None  # a lifecycle move
    score: ScoreTrigger | None = None  # a score crossing a threshold
    event: str | None = None  # POST /v1/journeys/{name}/events with this event name
    track: str | None = None  # an events-pipeline `track` event with this name

    @model_validator(mode="after")
    def _one(self) -> Trigger:
        used = [k for k in TRIGGER_KINDS if getattr(self, k) not in (None, False)]
        if len(used) != 1:
            raise ValueError(f"entry needs exactly one of {', '.join(TRIGGER_KINDS)}; got {used}")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in TRIGGER_KINDS if getattr(self, k) not in (None, False))


class ReEntry(_Strict):
    """`never` (once per person ever), `after_exit` (again once out), `always` (even while in:
    not allowed — one enrolment per person at a time is kept), with an optional cooldown."""

    policy: Literal["never", "after_exit"] = "never"
    cooldown: timedelta = timedelta(0)

    _cd = field_validator("cooldown", mode="before")(lambda v: _duration(v))


class Window(_Strict):
    """A time window in the contact's time zone (e.g. weekdays 09:00-11:00)."""

    start: str
    end: str
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = list(DAYS[:5])  # type: ignore[assignment]

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, v: str) -> str:
        parse_clock(v)
        return v

    @model_validator(mode="after")
    def _order(self) -> Window:
        if parse_clock(self.start) >= parse_clock(self.end):
            raise ValueError(f"window start {self.start} must be before end {self.end}")
        return self


class Wait(_Strict):
    """Exactly one of: a delay; until a window opens; until an event (with a timeout)."""

    delay: timedelta | None = None
    until_window: Window | None = None
    event: str | None = None  # an activity type, a track event name or an API event name
    timeout: timedelta | None = None

    @field_validator("delay", "timeout", mode="before")
    @classmethod
    def _dur(cls, v: Any) -> Any:
        return None if v is None else _duration(v)

    @model_validator(mode="after")
    def _one(self) -> Wait:
        used = [k for k in ("delay", "until_window", "event") if getattr(self, k) is not None]
        if len(used) != 1:
            raise ValueError(f"wait needs exactly one of delay, until_window, event; got {used}")
        if self.event is not None and self.timeout is None:
            raise ValueError("a wait for an event needs a `timeout` (e.g. 7d)")
        if self.event is None and self.timeout is not None:
            raise ValueError("`timeout` only goes with `event`")
        return self


class When(_Strict):
    """A branch condition: field conditions (all must hold), stage, segment membership."""

    all: list[Condition] = []
    any: list[Condition] = []
    stage_in: list[str] | None = None
    in_segment: str | None = None
    not_in_segment: str | None = None


class Arm(_Strict):
    when: When | None = None  # None: the `else` arm
    goto: str


class SendEmail(_Strict):
    template: str
    params: dict[str, Any] = {}


class NotifyOwner(_Strict):
    message: str
    channel: Literal["email", "slack", "webhook"] = "email"


class UpdateField(_Strict):
    field: str
    value: Any = None


class ChangeStage(_Strict):
    to: str
    reason: str | None = None


class ListRef(_Strict):
    list: str


class Webhook(_Strict):
    url: str  # a URL or a named destination from notifications.yml
    payload: dict[str, Any] = {}


class ExitStep(_Strict):
    reason: str = "exit step"


class Step(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,100}$")
    next: str | None = None
    wait: Wait | None = None
    on_event: str | None = None  # wait for an event: where to go when it happens (default next)
    on_timeout: str | None = None  # … and when the timeout passes first (default next)
    branch: list[Arm] | None = None
    send_email: SendEmail | None = None
    notify_owner: NotifyOwner | None = None
    update_field: UpdateField | None = None
    change_stage: ChangeStage | None = None
    add_to_list: ListRef | None = None
    remove_from_list: ListRef | None = None
    webhook: Webhook | None = None
    exit: ExitStep | None = None

    @model_validator(mode="after")
    def _one(self) -> Step:
        used = [k for k in STEP_KINDS if getattr(self, k) is not None]
        if len(used) != 1:
            raise ValueError(
                f"step `{self.id}` needs exactly one of {', '.join(STEP_KINDS)}; got {used}"
            )
        if (self.on_event or self.on_timeout) and (self.wait is None or self.wait.event is None):
            raise ValueError(f"step `{self.id}`: on_event/on_timeout only go with wait.event")
        if self.branch is not None:
            if not self.branch:
                raise ValueError(f"step `{self.id}`: branch needs at least one arm")
            if any(a.when is None for a in self.branch[:-1]):
                raise ValueError(f"step `{self.id}`: only the last arm may omit `when`")
        return self

    @cached_property
    def kind(self) -> str:
        return next(k for k in STEP_KINDS if getattr(self, k) is not None)

    @property
    def spec(self) -> Any:
        return getattr(self, self.kind)


class Goal(_Strict):
    """Leave the journey (counted as converted) when the lead reaches this."""

    name: str
    stage: str | None = None  # lifecycle stage reached (e.g. SQL)
    stage_in: list[str] | None = None
    in_segment: str | None = None
    when: list[Condition] | None = None  # every field condition holds

    @model_validator(mode="after")
    def _one(self) -> Goal:
        used = [k for k in ("stage", "stage_in", "in_segment", "when") if getattr(self, k)]
        if len(used) != 1:
            raise ValueError(
                f"goal `{self.name}` needs exactly one of stage, stage_in, in_segment, when"
            )
        return self


class Migration(_Strict):
    """Move people on `version` to this one: `map` sends an old step to a new step."""

    version: int = Field(ge=1)
    map: dict[str, str]


class Journey(_Strict):
    name: str | None = None  # defaults to the file name; must match it when given
    description: str = ""
    entry: Trigger
    re_entry: ReEntry = ReEntry()
    suppression_segments: list[str] = []
    steps: list[Step]
    goals: list[Goal] = []
    migrate_from: Migration | None = None
    from_template: str | None = None
    template_version: int | None = None
    time_zone: str = "UTC"  # for contacts without one of their own

    @field_validator("time_zone")
    @classmethod
    def _tz(cls, v: str) -> str:
        zone(v)
        return v

    @model_validator(mode="after")
    def _refs(self) -> Journey:
        if not self.steps:
            raise ValueError("a journey needs at least one step")
        ids = [s.id for s in self.steps]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"step ids must be unique; repeated: {dupes}")
        known = set(ids)
        for s in self.steps:
            targets = [s.next, s.on_event, s.on_timeout] + [a.goto for a in s.branch or []]
            bad = [t for t in targets if t is not None and t not in known]
            if bad:
                raise ValueError(f"step `{s.id}` goes to unknown step(s) {bad}; known: {ids}")
        return self

    @cached_property
    def steps_by_id(self) -> dict[str, Step]:
        return {s.id: s for s in self.steps}

    def step(self, step_id: str) -> Step | None:
        return self.steps_by_id.get(step_id)

    @cached_property
    def successors(self) -> dict[str, str | None]:
        """Each step's default successor: `next`, else the following step, else None."""
        ids = [s.id for s in self.steps]
        return {
            s.id: s.next or (ids[i + 1] if i + 1 < len(ids) else None)
            for i, s in enumerate(self.steps)
        }

    def after(self, step_id: str) -> str | None:
        """The default successor: `next`, else the following step, else None (the end)."""
        return self.successors[step_id]

    @cached_property
    def straight(self) -> bool:
        """No goals, no branches, waits of a fixed delay only: what happens to a person depends
        on their step and state alone (and their actions' results), not on who they are."""
        return not self.goals and all(
            s.branch is None and (s.wait is None or s.wait.delay is not None) for s in self.steps
        )
