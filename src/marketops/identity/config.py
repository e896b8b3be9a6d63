"""identity.yml: how people are matched, linked and merged (pydantic, `extra="forbid"`).

Every key has a default tuned for lead data, so identity resolution works with no file at all.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Columns the feature builder derives from a lead (see identity.features); comparisons and
# blocking rules may name any of them.
FEATURE_COLUMNS = (
    "email",
    "email_local",
    "email_domain",
    "first_name",
    "first_initial",
    "last_name",
    "company_key",
    "phone",
    "city",
    "postcode",
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ComparisonSpec(_Model):
    """One field compared between two records, as ordered levels (best first).

    kinds: `exact` (equal or not); `string` (equal, then Jaro-Winkler at each threshold);
    `name` (as string, with a nickname level after exact: Bill ~ William); `email` (equal
    address, equal local part, Jaro-Winkler of the local part at each threshold).
    """

    column: str
    kind: Literal["exact", "string", "name", "email"] = "string"
    thresholds: list[float] = Field(default_factory=lambda: [0.92, 0.8])

    @model_validator(mode="after")
    def _check(self) -> ComparisonSpec:
        if any(not 0 < t <= 1 for t in self.thresholds):
            raise ValueError("thresholds are Jaro-Winkler similarities in (0, 1]")
        if self.thresholds != sorted(self.thresholds, reverse=True):
            raise ValueError("thresholds must be in decreasing order")
        return self


class SurvivorshipRule(_Model):
    rule: Literal["most_recent", "most_complete", "source_priority", "never_overwrite"]
    sources: list[str] = Field(default_factory=list)  # for source_priority, best first


class Survivorship(_Model):
    """Which member's value the identity's golden record keeps, per field."""

    default: Literal["most_recent", "most_complete", "source_priority", "never_overwrite"] = (
        "most_recent"
    )
    source_priority: list[str] = Field(default_factory=list)
    fields: dict[str, SurvivorshipRule] = Field(default_factory=dict)


class Training(_Model):
    # m from the pairs the exact rules linked (labels), else by EM (when too few such pairs)
    m_from: Literal["exact_links", "em"] = "exact_links"
    min_labelled_pairs: int = 20
    u_max_pairs: float = 1e6  # random pairs sampled to estimate u probabilities
    em_blocking_rules: list[list[str]] = Field(
        default_factory=lambda: [["last_name", "first_initial"], ["email_local"]]
    )
    prior_rules: list[list[str]] = Field(  # precise rules whose matches estimate the prior
        default_factory=lambda: [
            ["email_local", "last_name"],
            ["first_name", "last_name", "company_key"],
        ]
    )
    deterministic_recall: float = 0.7  # assumed recall of prior_rules
    seed: int = 42


class Engine(_Model):
    """Where Splink trains and predicts: DuckDB in this process (default) or Spark.

    DuckDB spills to `temp_directory` (default: a temporary directory removed after the run)
    beyond `memory_limit`; Spark runs on `spark_master` (`local[*]`: this machine's cores)."""

    name: Literal["duckdb", "spark"] = "duckdb"
    threads: int | None = Field(None, ge=1)  # DuckDB threads; default: every core
    memory_limit: str | None = "1GB"  # DuckDB's memory_limit setting, e.g. "512MB", "4GB"
    temp_directory: str | None = None
    predict_chunks: int = Field(1, ge=1)  # Splink scores the blocked pairs in N slices: less memory
    spark_master: str = "local[*]"
    spark_shuffle_partitions: int = Field(8, ge=1)
    # how Splink cuts Spark's lineage between steps: cached in memory, or files in a temp dir
    spark_break_lineage: Literal["persist", "parquet", "checkpoint"] = "persist"


def _default_comparisons() -> list[ComparisonSpec]:
    return [
        ComparisonSpec(column="first_name", kind="name", thresholds=[0.92, 0.8]),
        ComparisonSpec(column="last_name", kind="string", thresholds=[0.92, 0.8]),
        ComparisonSpec(column="email", kind="email", thresholds=[0.88]),
        ComparisonSpec(column="company_key", kind="string", thresholds=[0.88]),
        ComparisonSpec(column="phone", kind="exact", thresholds=[]),
        ComparisonSpec(column="city", kind="exact", thresholds=[]),
        ComparisonSpec(column="postcode", kind="exact", thresholds=[]),
    ]


def _default_blocking() -> list[list[str]]:
    return [
        ["email_local"],
        ["phone"],
        ["last_name", "first_initial"],
        ["first_name", "company_key"],
        ["last_name", "company_key"],
    ]


class IdentityConfig(_Model):
    """The whole of identity.yml."""

    realtime: bool = False  # match each captured lead against existing identities
    threshold: float = Field(0.9, gt=0, lt=1)  # match probability that links two records
    deterministic: list[str] = Field(default_factory=lambda: ["email", "phone"])
    blocking_rules: list[list[str]] = Field(default_factory=_default_blocking)
    comparisons: list[ComparisonSpec] = Field(default_factory=_default_comparisons)
    training: Training = Field(default_factory=Training)
    engine: Engine = Field(default_factory=Engine)
    survivorship: Survivorship = Field(default_factory=Survivorship)
    max_candidates: int = Field(200, ge=1)  # real time: most records scored per new lead

    @model_validator(mode="after")
    def _check(self) -> IdentityConfig:
        if not self.blocking_rules:
            raise ValueError("blocking_rules needs at least one rule")
        if any(not rule for rule in self.blocking_rules):
            raise ValueError("a blocking rule lists at least one column")
        if not self.comparisons:
            raise ValueError("comparisons needs at least one comparison")
        return self
