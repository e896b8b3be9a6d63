"""`kpis.yml`: which stages make the funnel, what counts as marketing and paid, CLV inputs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from marketops.analytics.attribution.config import ModelName

TimeUnit = Literal["day", "week", "month", "quarter", "year"]
UNIT_DAYS = {"day": 1.0, "week": 7.0, "month": 365.25 / 12, "quarter": 365.25 / 4, "year": 365.25}
GA4_PAID = [
    "Paid Search",
    "Paid Social",
    "Paid Video",
    "Paid Shopping",
    "Paid Other",
    "Display",
    "Cross-network",
    "Audio",
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Clv(Strict):
    gross_margin: float = Field(0.75, gt=0, le=1, description="share of revenue kept as margin")
    churn_rate: float | None = Field(
        None, ge=0, le=1, description="share of customers lost per time_unit (unset: CLV undefined)"
    )
    time_unit: TimeUnit = Field("month", description="the unit of arpa and churn_rate")
    arpa: str | None = Field(
        None, description="revenue per account per time_unit; unset: average won deal ÷ deal_term"
    )
    deal_term: TimeUnit = Field("year", description="what one won deal's amount pays for")


class KpisConfig(Strict):
    funnel: list[str] | None = Field(
        None,
        description="ordered funnel stages (default: lifecycle stages except the initial "
        "Anonymous, recycle stages and Disqualified)",
    )
    qualified_stage: str | None = Field(
        None, description="lead velocity rate counts first entries here (default: mql_stage)"
    )
    non_marketing_channels: list[str] = Field(
        default_factory=lambda: ["Direct"],
        description="touches in these channels neither source nor influence pipeline",
    )
    paid_channels: list[str] = Field(default_factory=lambda: list(GA4_PAID))
    influence_window_days: float = Field(
        90, gt=0, description="a touch influences an opportunity created within this many days"
    )
    roi_model: ModelName = Field(
        "linear", description="attribution model crediting revenue for ROI"
    )
    clv: Clv = Clv()
