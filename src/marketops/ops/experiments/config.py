"""experiments.yml: the team's experiment defaults, metric directions and planned experiments."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from marketops.errors import Problem

if TYPE_CHECKING:  # the analysis (SciPy) is imported when a plan is analysed, not to read the file
    from marketops.ops.experiments.analysis import AnalysisSettings, MetricRole

FILENAME = "experiments.yml"
DEFAULT_TUNING = 5000.0  # the confidence sequence's tuning (the sample size it is tightest at)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Defaults(_Strict):
    alpha: float = Field(0.05, gt=0, lt=1)
    power: float = Field(0.8, gt=0, lt=1)
    correction: Literal["holm", "bh", "none"] = "holm"
    difference: Literal["relative", "absolute"] = "relative"
    srm_threshold: float = Field(0.001, gt=0, lt=1)
    sequential: bool = False
    sequential_tuning: float = Field(DEFAULT_TUNING, gt=0)


class MetricDef(_Strict):
    description: str = ""
    higher_is_better: bool = True


class ExperimentDef(_Strict):
    key: str = Field(min_length=1)
    hypothesis: str = ""
    owner: str | None = None
    variants: dict[str, float] = Field(description="planned split; weights need not sum to 1")
    control: str | None = Field(None, description="default: the first variant")
    goal_metrics: list[str] = Field(min_length=1)
    guardrail_metrics: list[str] = []
    correction: Literal["holm", "bh", "none"] | None = None
    sequential: bool | None = None
    sequential_tuning: float | None = Field(None, gt=0)

    @field_validator("variants")
    @classmethod
    def _two_positive(cls, v: dict[str, float]) -> dict[str, float]:
        if len(v) < 2:
            raise ValueError("needs at least two variants (control + treatment)")
        if any(w <= 0 for w in v.values()):
            raise ValueError("split weights must be positive")
        return v

    def settings(self, defaults: Defaults) -> AnalysisSettings:
        from marketops.ops.experiments.analysis import AnalysisSettings

        return AnalysisSettings(
            control=self.control or next(iter(self.variants)),
            weights=dict(self.variants),
            alpha=defaults.alpha,
            correction=self.correction or defaults.correction,
            difference=defaults.difference,
            sequential=defaults.sequential if self.sequential is None else self.sequential,
            sequential_tuning=self.sequential_tuning or defaults.sequential_tuning,
            srm_threshold=defaults.srm_threshold,
        )

    def roles(self, metrics: dict[str, MetricDef]) -> list[MetricRole]:
        from marketops.ops.experiments.analysis import MetricRole

        def role(name: str, kind: Literal["goal", "guardrail"]) -> MetricRole:
            d = metrics.get(name, MetricDef())
            return MetricRole(name, kind, d.higher_is_better)

        return [role(n, "goal") for n in self.goal_metrics] + [
            role(n, "guardrail") for n in self.guardrail_metrics
        ]


class ExperimentsFile(_Strict):
    defaults: Defaults = Defaults()
    metrics: dict[str, MetricDef] = {}
    experiments: list[ExperimentDef] = []

    def get(self, key: str) -> ExperimentDef | None:
        return next((e for e in self.experiments if e.key == key), None)


def check(root: Path, model: ExperimentsFile) -> list[Problem]:
    """Cross-references the schema cannot see: unique keys, declared metrics, known control."""
    where = str(root / FILENAME)
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, e in enumerate(model.experiments):
        at = f"{where}: experiments[{i}] ({e.key})"
        if e.key in seen:
            problems.append(Problem(at, f"duplicate experiment key {e.key!r}"))
        seen.add(e.key)
        if e.control and e.control not in e.variants:
            problems.append(Problem(at, f"control {e.control!r} is not one of the variants"))
        for name in e.goal_metrics + e.guardrail_metrics:
            if model.metrics and name not in model.metrics:
                problems.append(
                    Problem(
                        at,
                        f"metric {name!r} is not declared under `metrics`",
                        "declare it so its direction is explicit",
                    )
                )
        both = set(e.goal_metrics) & set(e.guardrail_metrics)
        if both:
            problems.append(Problem(at, f"{sorted(both)} are both goal and guardrail"))
    return problems
