"""Pydantic models of the workspace YAML files (settings, scoring, routing, lifecycle)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from marketops.ops.calendars.timeparse import parse_duration
from marketops.workspace.conditions import Condition


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- marketops.yml -------------------------------------------------------------------------------
class HttpEnricherSettings(Strict):
    url: str = Field(description="GET {url}?domain=example.com returning JSON company attributes")
    timeout_s: float = 2.0
    retries: int = Field(2, ge=0, le=10)
    api_key_env: str | None = Field(None, description="environment variable holding the API key")


class PluginEnricher(Strict):
    factory: str = Field(pattern=r"^[\w.]+:[\w.]+$", description="module.path:callable")
    options: dict[str, object] = {}


class EnrichmentSettings(Strict):
    local_lookup: str | None = Field(
        None, description="CSV: domain,company,industry,employees,country"
    )
    http: HttpEnricherSettings | None = None
    plugins: list[PluginEnricher] = Field(
        [], description="your own enrichers: factory(workspace, **options) -> Enricher"
    )


class SuppressionSettings(Strict):
    do_not_contact: str | None = Field(None, description="CSV: channel,kind,value[,reason]")
    channels: list[str] = ["email", "phone", "sales"]


class Settings(Strict):
    name: str = "marketops workspace"
    timezone: str = "UTC"
    database_url: str = "sqlite:///marketops.db"
    analytics_path: str = "analytics.duckdb"
    contract: str = "contracts/lead.odcs.yaml"
    enrichment: EnrichmentSettings = EnrichmentSettings()
    suppression: SuppressionSettings = SuppressionSettings()
    batch_size: int = Field(5000, ge=1, le=1_000_000)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {v!r} (e.g. America/New_York)") from exc
        return v


# --- scoring.yml ---------------------------------------------------------------------------------
class FitRule(Condition):
    points: float
    name: str | None = None


class FitGroup(Strict):
    name: str
    cap: float | None = Field(None, description="most points this group may add (positive side)")
    floor: float | None = Field(None, description="most points this group may take away (negative)")
    rules: list[FitRule]


class EngagementRule(Strict):
    activity: str
    points: float
    name: str | None = None
    max_times: int | None = Field(None, ge=1, description="count at most this many occurrences")


class EngagementGroup(Strict):
    name: str
    cap: float | None = None
    floor: float | None = None
    rules: list[EngagementRule]


class Decay(Strict):
    half_life_days: float | None = Field(
        30, gt=0, description="engagement points halve every N days"
    )


class Scoring(Strict):
    mql_threshold: float = 60
    decay: Decay = Decay()
    fit: list[FitGroup] = []
    engagement: list[EngagementGroup] = []

    @model_validator(mode="after")
    def _unique_groups(self) -> Scoring:
        names = [g.name for g in self.fit] + [g.name for g in self.engagement]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"group names must be unique; repeated: {sorted(dup)}")
        return self


# --- routing.yml ---------------------------------------------------------------------------------
class OutOfOffice(Strict):
    """Days a member takes no new leads (inclusive, in the member's calendar zone or UTC)."""

    from_: dt.date = Field(alias="from")
    to: dt.date
    reason: str = ""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _order(self) -> OutOfOffice:
        if self.to < self.from_:
            raise ValueError(f"out_of_office ends ({self.to}) before it starts ({self.from_})")
        return self


class Member(Strict):
    name: str
    weight: int = Field(1, ge=1)
    email: str | None = None
    capacity: int | None = Field(
        None, ge=0, description="most open leads this member may own; full members are skipped"
    )
    calendar: str | None = Field(
        None, description="working hours (calendars.yml); assigned only while it is open"
    )
    out_of_office: list[OutOfOffice] = []
    manager: str | None = Field(None, description="who SLA escalations go to")


class Queue(Strict):
    name: str
    members: list[Member] = []
    description: str = ""
    calendar: str | None = Field(
        None, description="the team's business-hours calendar for SLA timers (default 24x7)"
    )
    respect_working_hours: bool = Field(
        False, description="skip members whose (own or team) calendar is closed now"
    )
    skip_if_full: bool = Field(True, description="skip members at capacity (else assign anyway)")
    overflow: str | None = Field(
        None, description="owner to take the lead when no member is available (default: hold)"
    )


class AccountMatching(Strict):
    file: str | None = Field(None, description="CSV: account_id,name,domain,owner")
    fuzzy_threshold: float = Field(
        90, ge=50, le=100, description="rapidfuzz token_sort_ratio needed for a name match"
    )


class RoutingRule(Strict):
    name: str
    when: list[Condition] = Field([], description="all must hold; empty = always")
    queue: str | None = None
    owner: str | None = None
    account_owner: bool = Field(
        False, description="send to the matched account's owner; no match = rule does not apply"
    )

    @model_validator(mode="after")
    def _target(self) -> RoutingRule:
        if (self.queue is not None) + (self.owner is not None) + self.account_owner != 1:
            raise ValueError(
                f"rule `{self.name}` needs exactly one of `queue`, `owner` or `account_owner: true`"
            )
        return self


class Routing(Strict):
    queues: list[Queue] = []
    rules: list[RoutingRule] = []
    accounts: AccountMatching = AccountMatching()
    notify_owner: Literal["email", "slack", "webhook"] | None = Field(
        None, description="tell the new owner of every assignment (outbox, destination owner:NAME)"
    )

    @model_validator(mode="after")
    def _refs(self) -> Routing:
        known = {q.name for q in self.queues}
        for rule in self.rules:
            if rule.queue and rule.queue not in known:
                raise ValueError(
                    f"rule `{rule.name}` sends to unknown queue `{rule.queue}`;"
                    f" declare it under `queues` (known: {sorted(known)})"
                )
        return self

    def member(self, name: str | None) -> tuple[Queue, Member] | None:
        """The first queue listing `name` as a member, with the member."""
        for q in self.queues:
            for m in q.members:
                if m.name == name:
                    return q, m
        return None


# --- lifecycle.yml -------------------------------------------------------------------------------
class Transition(Strict):
    from_: str = Field(alias="from")
    to: list[str]

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _duration(value: object) -> dt.timedelta:
    try:
        return parse_duration(value)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ValueError(str(exc)) from exc


class SlaTimer(Strict):
    """What happens `after` a duration on the SLA's clock, unless the clock was stopped first."""

    after: dt.timedelta
    action: Literal["notify", "escalate", "reassign", "move"]
    to: str | None = Field(
        None,
        description="notify: `owner`, `manager` or a destination; move: the target stage",
    )
    channel: Literal["email", "slack", "webhook"] = "email"
    reason: str | None = None

    @field_validator("after", mode="before")
    @classmethod
    def _after(cls, v: object) -> dt.timedelta:
        return _duration(v)

    @model_validator(mode="after")
    def _needs_to(self) -> SlaTimer:
        if self.action in ("notify", "move") and not self.to:
            raise ValueError(f"a `{self.action}` timer needs `to`")
        return self


class StageSla(Strict):
    """Timers that start when a lead enters `stage` (or is assigned in it) and stop on a touch."""

    name: str
    stage: str
    start: Literal["entered", "assigned"] = "entered"
    calendar: str = Field(
        "owner", description="`owner` (the owner's team calendar), a calendars.yml name or 24x7"
    )
    stop_on: list[str] = Field([], description="activity types that stop the clock")
    moved_by: Literal["anyone", "person", "rule"] = "anyone"
    timers: list[SlaTimer]


class Lifecycle(Strict):
    stages: list[str]
    initial: str = "Known"
    mql_stage: str = "MQL"
    mql_from: list[str] = Field(
        ["Known", "Nurture"], description="stages a lead leaves for MQL when its score passes"
    )
    transitions: list[Transition] = []
    recycle: list[str] = Field(
        ["Nurture"], description="stages that count as moving backward (a reason is required)"
    )
    open_stages: list[str] | None = Field(
        None,
        description="stages that count toward an owner's capacity (default: all but the"
        " recycle stages, Disqualified and Customer)",
    )
    slas: list[StageSla] = []

    @model_validator(mode="after")
    def _refs(self) -> Lifecycle:
        stages = set(self.stages)
        wanted = [self.initial, self.mql_stage, *self.mql_from, *self.recycle]
        for t in self.transitions:
            wanted += [t.from_, *t.to]
        for sla in self.slas:
            wanted.append(sla.stage)
            wanted += [t.to for t in sla.timers if t.action == "move" and t.to]
        wanted += self.open_stages or []
        unknown = sorted({s for s in wanted if s not in stages})
        if unknown:
            raise ValueError(f"unknown stage(s) {unknown}; declare them under `stages`")
        names = [s.name for s in self.slas]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"SLA names must be unique; repeated: {dup}")
        return self

    def allowed(self, src: str, dst: str) -> bool:
        return any(t.from_ == src and dst in t.to for t in self.transitions)

    def is_backward(self, src: str, dst: str) -> bool:
        """Recycling (into a `recycle` stage) or moving to an earlier stage of the funnel."""
        if dst in self.recycle:
            return True
        if src in self.recycle or src not in self.stages or dst not in self.stages:
            return False
        return self.stages.index(dst) < self.stages.index(src)

    def open_stage_set(self) -> set[str]:
        if self.open_stages is not None:
            return set(self.open_stages)
        closed = {*self.recycle, "Disqualified", "Customer"}
        return {s for s in self.stages if s not in closed}
