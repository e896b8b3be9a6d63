"""Attribution settings: the `attribution.yml` workspace file and the CLI/API overrides."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Level = Literal["channel", "source_medium", "campaign", "content"]
LEVELS: tuple[str, ...] = ("channel", "source_medium", "campaign", "content")
ModelName = Literal[
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "position_based",
    "time_decay",
    "w_shaped",
    "full_path",
    "markov",
    "shapley",
]
HEURISTICS: tuple[str, ...] = (
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "position_based",
    "time_decay",
    "w_shaped",
    "full_path",
)
ALL_MODELS: tuple[str, ...] = (*HEURISTICS, "markov", "shapley")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Sources(Strict):
    """Files (relative to the workspace) that `GET /v1/attribution` reads."""

    touchpoints: str | None = None
    conversions: str | None = None
    costs: str | None = None


class AttributionConfig(Strict):
    by: Level = "channel"
    models: list[ModelName] = Field(default_factory=lambda: list(ALL_MODELS))
    kinds: list[str] | None = Field(
        None, description="conversion kinds to attribute (None: every kind in the file)"
    )
    touch_types: list[str] | None = Field(
        None, description="touch types that count (None: all, including touches without a type)"
    )
    lookback_days: float | None = Field(
        None, gt=0, description="only conversions in (now - lookback, now] are analysed"
    )
    conversion_window_days: float = Field(
        90, gt=0, description="a touch earns credit only if the conversion follows within this"
    )
    half_life_days: float = Field(7, gt=0, description="time-decay half-life")
    position_weights: tuple[float, float, float] = Field(
        (0.4, 0.2, 0.4), description="position-based: first, middle (shared), last"
    )
    direct_channels: list[str] = Field(default_factory=lambda: ["direct", "(direct)"])
    lead_kind: str = "lead_created"
    opportunity_kind: str = "opportunity"
    won_kind: str = "closed_won"
    markov_order: int = Field(1, ge=1, le=4)
    shapley_exact_max: int = Field(15, ge=1, le=20)
    shapley_samples: int = Field(2000, ge=10, le=1_000_000)
    seed: int = 0
    sources: Sources = Sources()

    @model_validator(mode="after")
    def _weights(self) -> AttributionConfig:
        total = sum(self.position_weights)
        first, _, last = self.position_weights
        if abs(total - 1) > 1e-9 or min(self.position_weights) < 0 or first + last <= 0:
            raise ValueError(
                f"position_weights must be >= 0, sum to 1 and give first + last > 0"
                f" (they sum to {total})"
            )
        return self
