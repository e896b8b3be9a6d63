"""Pydantic models of the workspace YAML files (settings, scoring, routing, lifecycle)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from marketops.workspace.conditions import Condition


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- marketops.yml -------------------------------------------------------------------------------
class HttpEnricherSettings(Strict):
    url: str = Field(description="GET {url}?domain=example.com returning JSON company attributes")
    timeout_s: float = 2.0
    retries: int = Field(2, ge=0, le=10)
    api_key_env: str | None = Field(None, description="environment variable holding the API key")


class EnrichmentSettings(Strict):
    local_lookup: str | None = Field(
        None, description="CSV: domain,company,industry,employees,country"
    )
    http: HttpEnricherSettings | None = None


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
class Member(Strict):
    name: str
    weight: int = Field(1, ge=1)
    email: str | None = None


class Queue(Strict):
    name: str
    members: list[Member] = []
    description: str = ""


class RoutingRule(Strict):
    name: str
    when: list[Condition] = Field([], description="all must hold; empty = always")
    queue: str | None = None
    owner: str | None = None

    @model_validator(mode="after")
    def _target(self) -> RoutingRule:
        if (self.queue is None) == (self.owner is None):
            raise ValueError(f"rule `{self.name}` needs exactly one of `queue` or `owner`")
        return self


class Routing(Strict):
    queues: list[Queue] = []
    rules: list[RoutingRule] = []

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


# --- lifecycle.yml -------------------------------------------------------------------------------
class Transition(Strict):
    from_: str = Field(alias="from")
    to: list[str]

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Lifecycle(Strict):
    stages: list[str]
    initial: str = "Known"
    mql_stage: str = "MQL"
    mql_from: list[str] = Field(
        ["Known", "Nurture"], description="stages a lead leaves for MQL when its score passes"
    )
    transitions: list[Transition] = []

    @model_validator(mode="after")
    def _refs(self) -> Lifecycle:
        stages = set(self.stages)
        wanted = [self.initial, self.mql_stage, *self.mql_from]
        for t in self.transitions:
            wanted += [t.from_, *t.to]
        unknown = sorted({s for s in wanted if s not in stages})
        if unknown:
            raise ValueError(f"unknown stage(s) {unknown}; declare them under `stages`")
        return self

    def allowed(self, src: str, dst: str) -> bool:
        return any(t.from_ == src and dst in t.to for t in self.transitions)
