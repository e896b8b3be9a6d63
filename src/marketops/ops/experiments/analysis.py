"""`experiment analyze`: every treatment against control on every metric, plus the trust checks.

Goal metrics are adjusted together (Holm or Benjamini-Hochberg, the user's choice) because reading
several of them multiplies the chances of a false win. Guardrails are deliberately not adjusted:
a guardrail exists to catch harm, so it is read at the plain alpha and flagged when its interval
lies wholly on the harmful side.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from marketops.errors import MarketopsError, Problem
from marketops.ops.experiments.config import DEFAULT_TUNING
from marketops.ops.experiments.inputs import ExperimentData
from marketops.ops.experiments.jsonsafe import clean_json
from marketops.ops.experiments.statistics import (
    CORRECTIONS,
    FIXED_METHOD,
    SEQUENTIAL_METHOD,
    Correction,
    Difference,
    SampleStat,
    SrmResult,
    adjust_p_values,
    compare,
    srm_check,
)

Role = Literal["goal", "guardrail"]


@dataclass(frozen=True)
class MetricRole:
    name: str
    role: Role = "goal"
    higher_is_better: bool = True


@dataclass(frozen=True)
class AnalysisSettings:
    control: str | None = None
    weights: dict[str, float] | None = None  # planned split; None means equal
    alpha: float = 0.05
    correction: Correction = "holm"
    difference: Difference = "relative"  # which lift decides the p-value, as in GrowthBook
    sequential: bool = False
    sequential_tuning: float = DEFAULT_TUNING
    srm_threshold: float = 0.001


@dataclass
class Comparison:
    metric: str
    role: Role
    kind: str
    variant: str
    control: str
    control_units: int
    variant_units: int
    control_mean: float
    variant_mean: float
    absolute_lift: float
    absolute_ci: tuple[float, float]
    relative_lift: float
    relative_ci: tuple[float, float]
    p_value: float
    adjusted_p_value: float
    significant: bool
    verdict: str  # win | loss | inconclusive | degraded | ok | not estimable
    note: str | None = None


@dataclass
class AnalysisResult:
    control: str
    variants: list[str]
    method: str
    correction: str
    alpha: float
    srm: SrmResult
    comparisons: list[Comparison]
    blockers: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return clean_json(asdict(self))


def _pick_control(data: ExperimentData, settings: AnalysisSettings) -> str:
    if settings.control:
        return settings.control
    if "control" in data.users:
        return "control"
    if settings.weights:
        return next(iter(settings.weights))
    return data.variants[0]


def _check(
    data: ExperimentData, metrics: list[MetricRole], settings: AnalysisSettings, control: str
) -> list[Problem]:
    problems: list[Problem] = []
    if not 0 < settings.alpha < 1:
        problems.append(Problem("alpha", f"must be between 0 and 1, got {settings.alpha}"))
    if not 0 < settings.srm_threshold < 1:
        problems.append(
            Problem("srm_threshold", f"must be in (0, 1), got {settings.srm_threshold}")
        )
    if settings.sequential and settings.sequential_tuning <= 0:
        problems.append(
            Problem(
                "sequential_tuning",
                "must be positive",
                "use the sample size you expect at the end (default 5000)",
            )
        )
    if control not in data.users:
        problems.append(
            Problem(
                "control",
                f"variant {control!r} is not in the data",
                f"variants found: {', '.join(data.variants)}",
            )
        )
    if len(data.users) < 2:
        problems.append(Problem("variant", "need at least two variants"))
    if settings.weights is not None:
        unplanned = [v for v in data.variants if v not in settings.weights]
        if unplanned:
            problems.append(
                Problem(
                    "variant",
                    f"variants not in the planned split: {unplanned}",
                    "add them to the split (experiments.yml or --split)",
                )
            )
        bad = {v: w for v, w in settings.weights.items() if not w > 0}
        if bad:
            problems.append(Problem("split", f"weights must be positive: {bad}"))
    for m in metrics:
        if m.name not in data.stats:
            problems.append(
                Problem(
                    f"metric {m.name}",
                    "not in the data",
                    f"metrics found: {', '.join(data.metrics)}",
                )
            )
    return problems


def analyze(
    data: ExperimentData,
    metrics: list[MetricRole] | None = None,
    settings: AnalysisSettings | None = None,
) -> AnalysisResult:
    """Compare each treatment with control on each metric. Metrics not listed are goals."""
    settings = settings or AnalysisSettings()
    listed = {m.name: m for m in metrics or []}
    roles = list(listed.values()) + [MetricRole(n) for n in data.metrics if n not in listed]
    roles.sort(key=lambda m: m.role != "goal")  # goals first, each group in the given order
    control = _pick_control(data, settings)
    problems = _check(data, list(listed.values()), settings, control)
    if problems:
        raise MarketopsError("cannot analyze this experiment", problems)

    weights = settings.weights or dict.fromkeys(data.variants, 1.0)
    srm = srm_check(data.users, weights, settings.srm_threshold)
    planned = list(weights)
    treatments = [v for v in planned if v != control]
    tuning = settings.sequential_tuning if settings.sequential else None

    comparisons: list[Comparison] = []
    empty = SampleStat(0, 0.0, 0.0)
    for m in roles:
        per_variant = data.stats[m.name]
        a = per_variant.get(control, empty)
        for v in treatments:
            b = per_variant.get(v, empty)
            rel = compare(
                a, b, difference="relative", alpha=settings.alpha, sequential_tuning=tuning
            )
            ab = compare(
                a, b, difference="absolute", alpha=settings.alpha, sequential_tuning=tuning
            )
            main = rel if settings.difference == "relative" else ab
            comparisons.append(
                Comparison(
                    metric=m.name,
                    role=m.role,
                    kind=data.kinds.get(m.name, "mean"),
                    variant=v,
                    control=control,
                    control_units=a.n,
                    variant_units=b.n,
                    control_mean=a.mean,
                    variant_mean=b.mean,
                    absolute_lift=ab.estimate,
                    absolute_ci=ab.ci,
                    relative_lift=rel.estimate,
                    relative_ci=rel.ci,
                    p_value=main.p_value,
                    adjusted_p_value=main.p_value,
                    significant=False,
                    verdict="not estimable" if main.error else "",
                    note=main.error,
                )
            )

    goals = [c for c in comparisons if c.role == "goal"]
    for c, q in zip(
        goals,
        adjust_p_values([c.p_value for c in goals], settings.correction),
        strict=True,
    ):
        c.adjusted_p_value = q
    by_name = {m.name: m for m in roles}
    blockers: list[str] = []
    if srm.flagged:
        blockers.append(
            f"sample ratio mismatch (p = {srm.p_value:.2g} < {srm.threshold:g}): "
            "assignment is broken, do not trust the lifts"
        )
    for c in comparisons:
        if c.note:
            continue
        lift = c.relative_lift if settings.difference == "relative" else c.absolute_lift
        good = (lift > 0) == by_name[c.metric].higher_is_better
        c.significant = c.adjusted_p_value < settings.alpha
        if c.role == "goal":
            c.verdict = ("win" if good else "loss") if c.significant else "inconclusive"
        else:
            c.verdict = "degraded" if c.significant and not good else "ok"
            if c.verdict == "degraded":
                blockers.append(
                    f"guardrail {c.metric} degraded in {c.variant} (p = {c.p_value:.2g})"
                )
    return AnalysisResult(
        control=control,
        variants=planned,
        method=SEQUENTIAL_METHOD + f", tuning N = {settings.sequential_tuning:g}"
        if settings.sequential
        else FIXED_METHOD,
        correction=CORRECTIONS[settings.correction] + " across goal metrics",
        alpha=settings.alpha,
        srm=srm,
        comparisons=comparisons,
        blockers=blockers,
    )
