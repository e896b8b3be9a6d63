"""The use cases the CLI and the API share: settle the analysis settings, then analyze.

Settings come from three layers, last wins: built-in defaults, experiments.yml (its `defaults` and,
with a key, that experiment's split and metrics), and what the caller passes explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from marketops.errors import MarketopsError, Problem
from marketops.ops.experiments.analysis import AnalysisResult, AnalysisSettings, MetricRole, analyze
from marketops.ops.experiments.config import FILENAME, ExperimentsFile
from marketops.ops.experiments.inputs import ExperimentData
from marketops.ops.experiments.statistics import Correction, Difference


@dataclass(frozen=True)
class Overrides:
    """What the caller set explicitly; None means "not set"."""

    control: str | None = None
    split: dict[str, float] | None = None
    goals: list[str] | None = None
    guardrails: list[tuple[str, bool | None]] | None = None  # (name, higher_is_better)
    alpha: float | None = None
    correction: Correction | None = None
    difference: Difference | None = None
    sequential: bool | None = None
    sequential_tuning: float | None = None
    srm_threshold: float | None = None


def resolve(
    config: ExperimentsFile | None, key: str | None, overrides: Overrides
) -> tuple[list[MetricRole], AnalysisSettings]:
    config = config or ExperimentsFile()
    d = config.defaults
    settings = AnalysisSettings(
        alpha=d.alpha,
        correction=d.correction,
        difference=d.difference,
        sequential=d.sequential,
        sequential_tuning=d.sequential_tuning,
        srm_threshold=d.srm_threshold,
    )
    roles: list[MetricRole] = []
    if key is not None:
        experiment = config.get(key)
        if experiment is None:
            known = ", ".join(e.key for e in config.experiments) or "none"
            raise MarketopsError(
                f"no experiment {key!r} in {FILENAME}",
                [Problem(FILENAME, f"unknown experiment key {key!r}", f"declared: {known}")],
            )
        settings = experiment.settings(d)
        roles = experiment.roles(config.metrics)

    def direction(name: str) -> bool:
        m = config.metrics.get(name)
        return m.higher_is_better if m else True

    if overrides.goals is not None or overrides.guardrails is not None:
        goals = (
            overrides.goals
            if overrides.goals is not None
            else [r.name for r in roles if r.role == "goal"]
        )
        guards = [r for r in roles if r.role == "guardrail"]
        if overrides.guardrails is not None:
            guards = [
                MetricRole(n, "guardrail", direction(n) if up is None else up)
                for n, up in overrides.guardrails
            ]
        roles = [MetricRole(g, "goal", direction(g)) for g in goals] + guards
    changes = {
        k: v
        for k, v in {
            "control": overrides.control,
            "weights": overrides.split,
            "alpha": overrides.alpha,
            "correction": overrides.correction,
            "difference": overrides.difference,
            "sequential": overrides.sequential,
            "sequential_tuning": overrides.sequential_tuning,
            "srm_threshold": overrides.srm_threshold,
        }.items()
        if v is not None
    }
    return roles, replace(settings, **changes)


def analyze_experiment(
    data: ExperimentData,
    config: ExperimentsFile | None = None,
    key: str | None = None,
    overrides: Overrides | None = None,
) -> AnalysisResult:
    roles, settings = resolve(config, key, overrides or Overrides())
    return analyze(data, roles, settings)
