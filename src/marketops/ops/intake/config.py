"""The `catalog.yml` service catalog: request types, classes with SLA goals, the priority formula.

Pydantic models (`extra="forbid"`), so a typo is reported at its line by `marketops validate`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from marketops.errors import MarketopsError, Problem
from marketops.ops.calendars import BusinessCalendar, SlaGoal
from marketops.ops.calendars.timeparse import parse_duration
from marketops.ops.intake.formula import Formula, FormulaError
from marketops.ops.intake.states import PAUSE_STATES, RESUMED, SLA_EVENTS

FILENAME = "catalog.yml"
CLASSES = ("simple", "standard", "complex")
_KEY = r"^[a-z0-9][a-z0-9_-]*$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputSpec(Strict):
    """A field the requester fills in; `required` ones must be present on a new request."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    label: str | None = None
    type: Literal["text", "long_text", "date", "url", "number", "choice"] = "text"
    required: bool = False
    choices: list[str] = []
    help: str | None = None

    @model_validator(mode="after")
    def _choices(self) -> InputSpec:
        if (self.type == "choice") != bool(self.choices):
            raise ValueError(f"input `{self.name}`: `choices` goes with type `choice` only")
        return self


class RequestType(Strict):
    key: str = Field(pattern=_KEY, description="short id, e.g. launch-campaign")
    name: str
    class_: Literal["simple", "standard", "complex"] = Field(alias="class")
    description: str = ""
    launch: bool = Field(False, description="the work ships on a release train (scheduled → live)")
    train: str | None = Field(None, description="release train for launches; default: any")
    launch_duration: dt.timedelta = Field(dt.timedelta(minutes=30), description="e.g. 30m")
    self_serve: bool = Field(False, description="marketers complete it themselves (self-serve)")
    templates: list[str] = Field([], description="reusable templates this type can start from")
    inputs: list[InputSpec] = []

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("launch_duration", mode="before")
    @classmethod
    def _dur(cls, value: Any) -> dt.timedelta:
        return parse_duration(value)

    @model_validator(mode="after")
    def _unique_inputs(self) -> RequestType:
        names = [i.name for i in self.inputs]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"request type `{self.key}`: input names repeated: {dup}")
        return self


class SlaGoalDef(Strict):
    """An SLA goal of a class, on the request's SLA events (state names, created, resumed, …).

    Pausing defaults to the pause states (waiting_on_requester, awaiting_approval) and resuming
    to `resumed`, the event emitted when a request leaves a pause; `pause: []` never pauses.
    """

    name: str
    target: dt.timedelta = Field(description="business time on the calendar, e.g. 4h, 16h")
    calendar: str | None = Field(None, description="default: the class's, then the catalog's")
    start: list[str] = Field(min_length=1)
    stop: list[str] = Field(min_length=1)
    pause: list[str] = Field(default_factory=lambda: list(PAUSE_STATES))
    resume: list[str] | None = None

    @field_validator("target", mode="before")
    @classmethod
    def _target(cls, value: Any) -> dt.timedelta:
        target = parse_duration(value)
        if target <= dt.timedelta(0):
            raise ValueError("target must be positive")
        return target

    @model_validator(mode="after")
    def _events(self) -> SlaGoalDef:
        if self.resume is None:
            self.resume = [RESUMED] if self.pause else []
        if bool(self.pause) != bool(self.resume):
            raise ValueError(f"goal `{self.name}`: `pause` and `resume` go together")
        for kind in ("start", "stop", "pause", "resume"):
            unknown = [e for e in getattr(self, kind) if e not in SLA_EVENTS]
            if unknown:
                raise ValueError(
                    f"goal `{self.name}`.{kind}: unknown event(s) {unknown}; "
                    f"known: {', '.join(SLA_EVENTS)}"
                )
        return self


class ClassSpec(Strict):
    description: str = ""
    calendar: str | None = None
    sla: list[SlaGoalDef] = []

    @model_validator(mode="after")
    def _unique(self) -> ClassSpec:
        names = [g.name for g in self.sla]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"SLA goal names repeated: {dup}")
        return self


class PriorityInput(Strict):
    min: float = 1
    max: float = 5
    default: float = 3
    label: str | None = None

    @model_validator(mode="after")
    def _range(self) -> PriorityInput:
        if not self.min <= self.default <= self.max:
            raise ValueError("need min <= default <= max")
        return self


def _default_inputs() -> dict[str, PriorityInput]:
    return {
        "impact": PriorityInput(label="Business impact (1 low - 5 high)"),
        "urgency": PriorityInput(label="Urgency (1 can wait - 5 now)"),
        "effort": PriorityInput(label="Effort (1 hours - 5 weeks)"),
        "risk": PriorityInput(default=1, label="Risk (1 none - 5 high)"),
    }


class PriorityConfig(Strict):
    inputs: dict[str, PriorityInput] = Field(default_factory=_default_inputs)
    formula: str = "impact * urgency / effort * (1 - 0.1 * (risk - 1))"

    @model_validator(mode="after")
    def _formula(self) -> PriorityConfig:
        try:
            formula = Formula(self.formula, set(self.inputs))
            formula.evaluate({k: v.default for k, v in self.inputs.items()})
        except (FormulaError, ValueError) as exc:
            raise ValueError(f"priority.formula: {exc}") from exc
        return self

    def compiled(self) -> Formula:
        return Formula(self.formula, set(self.inputs))


class MetricsConfig(Strict):
    aging_days: int = Field(14, ge=1, description="backlog items older than this are 'aged'")


class TeamNotify(Strict):
    """Where the MOPS team hears about requests (a destination of notifications.yml, a URL or an
    address, sent through the outbox)."""

    channel: Literal["webhook", "slack", "email"] = "slack"
    destination: str
    when: list[str] = Field(["created"], description="`created` and/or state names")
    sla_breach: bool = Field(True, description="alert when an SLA clock breaches (worker job)")


class NotifySettings(Strict):
    requester: list[str] = Field(
        [], description="states whose entry emails the requester (when it is an email address)"
    )
    team: TeamNotify | None = None

    @model_validator(mode="after")
    def _states(self) -> NotifySettings:
        from marketops.ops.intake.states import STATES

        known = {*STATES, "created"}
        bad = [
            s for s in [*self.requester, *(self.team.when if self.team else [])] if s not in known
        ]
        if bad:
            raise ValueError(f"notify: unknown state(s) {bad}; known: {', '.join(STATES)}")
        return self


class Catalog(Strict):
    calendar: str = Field("24x7", description="default business calendar for SLA clocks")
    classes: dict[Literal["simple", "standard", "complex"], ClassSpec] = Field(
        default_factory=lambda: {c: ClassSpec() for c in CLASSES}
    )
    request_types: list[RequestType] = []
    priority: PriorityConfig = Field(default_factory=PriorityConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    web_form: bool = Field(True, description="serve the request form at /requests/new")
    notify: NotifySettings = Field(default_factory=NotifySettings)

    @model_validator(mode="after")
    def _unique(self) -> Catalog:
        keys = [t.key for t in self.request_types]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ValueError(f"request type keys repeated: {dup}")
        return self

    def request_type(self, key: str) -> RequestType:
        for t in self.request_types:
            if t.key == key:
                return t
        raise MarketopsError(
            f"unknown request type {key!r}",
            [
                Problem(
                    "type",
                    f"no request type {key!r} in {FILENAME}",
                    f"known: {', '.join(t.key for t in self.request_types) or '(none)'}",
                )
            ],
        )

    def calendar_for(self, class_: str) -> str:
        spec = self.classes.get(class_)  # type: ignore[call-overload]
        return (spec.calendar if spec else None) or self.calendar

    def goals(self, class_: str, calendars: Mapping[str, BusinessCalendar]) -> list[SlaGoal]:
        """The class's SLA goals bound to their calendars."""
        spec = self.classes.get(class_)  # type: ignore[call-overload]
        out = []
        for goal in spec.sla if spec else []:
            name = goal.calendar or self.calendar_for(class_)
            if name not in calendars:
                raise MarketopsError(
                    f"SLA goal {goal.name!r} uses unknown calendar {name!r}",
                    [
                        Problem(
                            f"{FILENAME} classes.{class_}",
                            f"no calendar named {name!r}",
                            f"declare it in calendars.yml; known: {', '.join(sorted(calendars))}",
                        )
                    ],
                )
            out.append(
                SlaGoal(
                    name=goal.name,
                    target=goal.target,
                    calendar=calendars[name],
                    start=frozenset(goal.start),
                    stop=frozenset(goal.stop),
                    pause=frozenset(goal.pause),
                    resume=frozenset(goal.resume or ()),
                )
            )
        return out
