"""`governance.yml`: which workspace files are versioned and how back-tests are run."""

from __future__ import annotations

import itertools

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_FILES = ["scoring.yml", "routing.yml", "lifecycle.yml", "taxonomy.yml", "channels.yml"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BacktestSettings(Strict):
    period_days: int = Field(
        90, ge=1, le=3660, description="default look-back of `plan` when --since is not given"
    )
    score_bins: list[float] = Field(
        [0, 20, 40, 60, 80, 100],
        description="edges of the score-distribution buckets (below the first and above the last"
        " get their own bucket)",
    )

    @field_validator("score_bins")
    @classmethod
    def _sorted(cls, v: list[float]) -> list[float]:
        if not v or any(b <= a for a, b in itertools.pairwise(v)):
            raise ValueError("score_bins must be a non-empty, strictly increasing list")
        return v


class GovernanceFile(Strict):
    files: list[str] = Field(
        default_factory=lambda: list(DEFAULT_FILES),
        description="workspace files (relative paths) under change control",
    )
    include_contract: bool = Field(
        True, description="also govern the data contract named in marketops.yml"
    )
    backtest: BacktestSettings = BacktestSettings()

    @field_validator("files")
    @classmethod
    def _relative(cls, v: list[str]) -> list[str]:
        for f in v:
            if f.startswith("/") or ".." in f.replace("\\", "/").split("/"):
                raise ValueError(f"{f!r}: governed files must be paths inside the workspace")
        return v
