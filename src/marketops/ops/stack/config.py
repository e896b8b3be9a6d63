"""stack.yml: the marketing tool inventory and the vendor scorecard it is judged by."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from marketops.errors import Problem

FILENAME = "stack.yml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Criterion(_Strict):
    key: str = Field(min_length=1)
    weight: Decimal = Field(gt=0, description="relative importance; weights need not sum to 1")
    description: str = ""


class Scorecard(_Strict):
    scale_max: int = Field(5, ge=1, le=100, description="scores run from 0 to this")
    criteria: list[Criterion] = []

    @field_validator("criteria")
    @classmethod
    def _unique(cls, v: list[Criterion]) -> list[Criterion]:
        keys = [c.key for c in v]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ValueError(f"duplicate criteria: {dup}")
        return v


class Tool(_Strict):
    name: str = Field(min_length=1)
    category: str = Field(min_length=1, description="e.g. marketing-automation, analytics, crm")
    owner: str = Field(min_length=1)
    annual_cost: Decimal = Field(ge=0, description="contract value per year, in `currency`")
    seats: int = Field(ge=0, description="licensed seats; 0 for platform/usage-priced tools")
    active_users: int = Field(ge=0, description="users active in the last 90 days")
    renewal_date: date
    integrations: list[str] = []
    scores: dict[str, Decimal] = {}
    notes: str = ""


class Stack(_Strict):
    currency: str = Field("USD", min_length=3, max_length=3)
    renewal_window_days: int = Field(90, ge=1)
    utilization_threshold: Decimal = Field(Decimal("0.40"), gt=0, le=1)
    scorecard: Scorecard = Scorecard()
    tools: list[Tool] = []

    @model_validator(mode="after")
    def _names_unique(self) -> Stack:
        names = [t.name.casefold() for t in self.tools]
        dup = sorted({t.name for t in self.tools if names.count(t.name.casefold()) > 1})
        if dup:
            raise ValueError(f"duplicate tool names: {dup}")
        return self


def check(root: Path, model: Stack) -> list[Problem]:
    """What the schema cannot see: scores against the declared criteria and scale, seat counts."""
    where = str(root / FILENAME)
    keys = {c.key for c in model.scorecard.criteria}
    problems: list[Problem] = []
    for i, t in enumerate(model.tools):
        at = f"{where}: tools[{i}] ({t.name})"
        for k, s in t.scores.items():
            if k not in keys:
                problems.append(
                    Problem(at, f"score for unknown criterion {k!r}", f"criteria: {sorted(keys)}")
                )
            if not 0 <= s <= model.scorecard.scale_max:
                problems.append(
                    Problem(at, f"score {k}={s} outside 0..{model.scorecard.scale_max}")
                )
        missing = sorted(keys - set(t.scores))
        if missing:
            problems.append(
                Problem(at, f"not scored on {missing}", "score every criterion", severity="warning")
            )
        if t.seats and t.active_users > t.seats:
            problems.append(
                Problem(
                    at,
                    f"{t.active_users} active users on {t.seats} seats",
                    "check the seat count or the usage export",
                    severity="warning",
                )
            )
    return problems
