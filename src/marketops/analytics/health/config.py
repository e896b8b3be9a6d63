"""`health.yml` (where alerts go, which timestamp measures age) and the contract's consistency rules.

Consistency rules live in the contract, under the schema object's `customProperties`, as
`property: consistencyRules` with a list of rules; see docs/data-health.md for the format.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from marketops.workspace.conditions import Condition

HEALTH_FILE = "health.yml"
CONSISTENCY_PROPERTY = "consistencyRules"


class AlertTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: Literal["webhook", "slack", "email"]
    destination: str = Field(
        min_length=1, description="URL, named destination from notifications.yml, or email address"
    )


class HealthConfig(BaseModel):
    """Settings of `marketops health`; thresholds themselves live in the contract."""

    model_config = ConfigDict(extra="forbid")
    alerts: list[AlertTarget] = []
    timestamp_field: str | None = Field(
        None, description="column whose age is measured (default: updated_at, else occurred_at)"
    )
    max_age_days: float | None = Field(
        None, gt=0, description="records older than this count against timeliness"
    )
    history_limit: int = Field(20, ge=1, le=1000, description="runs shown by --history")
    schedule_hours: float | None = Field(
        None, gt=0, description="the worker scores the store once every this many hours"
    )


class Compare(BaseModel):
    """`left op right` between two columns of the same record, e.g. created_at <= updated_at."""

    model_config = ConfigDict(extra="forbid")
    left: str
    op: Literal["<", "<=", "=", "!=", ">=", ">"]
    right: str


class ConsistencyRule(BaseModel):
    """A record that satisfies every `when` condition must satisfy every `then` condition and
    `compare`; or a built-in `check` (phone_country: the phone's +calling code is the country's)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str | None = None
    check: Literal["phone_country"] | None = None
    phone: str = "phone"
    country: str = "country"
    when: list[Condition] = []
    then: list[Condition] = []
    compare: Compare | None = None

    @model_validator(mode="after")
    def _something_to_check(self) -> ConsistencyRule:
        if self.check is None and not self.then and self.compare is None:
            raise ValueError(f"rule {self.name}: give `then` conditions, a `compare` or a `check`")
        if self.check is not None and (self.then or self.compare):
            raise ValueError(f"rule {self.name}: a built-in `check` takes no `then`/`compare`")
        return self

    def fields(self) -> set[str]:
        out = {c.field for c in (*self.when, *self.then)}
        if self.compare:
            out |= {self.compare.left, self.compare.right}
        if self.check == "phone_country":
            out |= {self.phone, self.country}
        return out


DEFAULT_RULES = (
    ConsistencyRule(name="phone_matches_country", check="phone_country"),
    ConsistencyRule(
        name="updated_after_created",
        compare=Compare(left="created_at", op="<=", right="updated_at"),
    ),
)
