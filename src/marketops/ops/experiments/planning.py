"""Sample size per arm and duration, before an experiment starts.

Proportions use the closed-form normal approximation of the two-sided z-test (pooled variance under
H0 as in Fleiss, Levin & Paik, *Statistical Methods for Rates and Proportions*, 3rd ed., eq. 4.14;
the same formula R's `power.prop.test` inverts), or the unpooled (Wald) variance. Means use the
two-sample t-test solved exactly on the noncentral t distribution (statsmodels `TTestIndPower`), or
its z approximation (`NormalIndPower`). Several treatment arms are each compared with control, so
alpha is split across the comparisons (Bonferroni or Šidák).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from scipy.stats import norm
from statsmodels.stats.power import NormalIndPower, TTestIndPower

from marketops.errors import MarketopsError, Problem
from marketops.ops.experiments.jsonsafe import clean_json

MetricKind = Literal["proportion", "mean"]
EffectType = Literal["relative", "absolute"]
ProportionVariance = Literal["pooled", "unpooled"]
MeanTest = Literal["t", "z"]
Adjustment = Literal["bonferroni", "sidak", "none"]

FORMULAS = {
    ("proportion", "pooled"): "two-sided z-test for two proportions, pooled variance under H0 "
    "(Fleiss; as R power.prop.test)",
    ("proportion", "unpooled"): "two-sided z-test for two proportions, unpooled (Wald) variance",
    ("mean", "t"): "two-sided two-sample t-test, equal variances, exact noncentral t "
    "(statsmodels TTestIndPower; as R power.t.test)",
    ("mean", "z"): "two-sided two-sample z-test (normal approximation of the t-test; "
    "statsmodels NormalIndPower)",
}


@dataclass(frozen=True)
class PlanInput:
    """What the planner needs; `sd` only for means, `traffic_per_day` only for a duration."""

    kind: MetricKind
    baseline: float  # conversion rate (0..1) for proportions, mean for means
    mde: float
    effect_type: EffectType = "relative"
    sd: float | None = None
    alpha: float = 0.05
    power: float = 0.8
    arms: int = 2
    adjustment: Adjustment = "bonferroni"
    variance: ProportionVariance = "pooled"
    test: MeanTest = "t"
    traffic_per_day: float | None = None


@dataclass(frozen=True)
class Plan:
    formula: str
    kind: MetricKind
    baseline: float
    target: float
    absolute_effect: float
    relative_effect: float
    alpha: float
    alpha_per_comparison: float
    adjustment: Adjustment
    comparisons: int
    power: float
    arms: int
    n_per_arm_exact: float  # before rounding up, to compare with references
    n_per_arm: int
    total_sample: int
    traffic_per_day: float | None
    duration_days: int | None

    def as_dict(self) -> dict[str, Any]:
        return clean_json(asdict(self))


def adjusted_alpha(alpha: float, comparisons: int, adjustment: Adjustment) -> float:
    """Per-comparison alpha that keeps the family-wise error rate at `alpha`."""
    if comparisons <= 1 or adjustment == "none":
        return alpha
    if adjustment == "bonferroni":
        return alpha / comparisons
    return 1.0 - (1.0 - alpha) ** (1.0 / comparisons)


def n_two_proportions(
    p1: float, p2: float, alpha: float, power: float, variance: ProportionVariance = "pooled"
) -> float:
    """Unrounded sample size per arm for a two-sided test of p1 vs p2 (equal arms)."""
    z_a = norm.ppf(1 - alpha / 2)
    z_b = norm.ppf(power)
    spread = p1 * (1 - p1) + p2 * (1 - p2)
    if variance == "pooled":
        p_bar = (p1 + p2) / 2
        numerator = z_a * math.sqrt(2 * p_bar * (1 - p_bar)) + z_b * math.sqrt(spread)
        return numerator**2 / (p1 - p2) ** 2
    return (z_a + z_b) ** 2 * spread / (p1 - p2) ** 2


def n_two_means(delta: float, sd: float, alpha: float, power: float, test: MeanTest = "t") -> float:
    """Unrounded sample size per arm to detect a difference `delta` in means with common `sd`."""
    solver = TTestIndPower() if test == "t" else NormalIndPower()
    return float(
        solver.solve_power(
            effect_size=abs(delta) / sd,
            alpha=alpha,
            power=power,
            ratio=1.0,
            alternative="two-sided",
        )
    )


def _check(spec: PlanInput) -> list[Problem]:
    problems: list[Problem] = []

    def bad(field: str, message: str, hint: str = "") -> None:
        problems.append(Problem(field, message, hint))

    if not 0 < spec.alpha < 1:
        bad("alpha", f"must be between 0 and 1, got {spec.alpha}", "0.05 is usual")
    if not 0 < spec.power < 1:
        bad("power", f"must be between 0 and 1, got {spec.power}", "0.8 is usual")
    if spec.arms < 2:
        bad("arms", f"needs at least 2 arms (control + 1 treatment), got {spec.arms}")
    if spec.mde == 0:
        bad("mde", "minimum detectable effect must not be 0")
    if spec.traffic_per_day is not None and spec.traffic_per_day <= 0:
        bad("traffic_per_day", f"must be positive, got {spec.traffic_per_day}")
    if spec.kind == "proportion":
        if not 0 < spec.baseline < 1:
            bad(
                "baseline",
                f"a conversion rate must be between 0 and 1, got {spec.baseline}",
                "write 3% as 0.03",
            )
        else:
            target = _target(spec)
            if not 0 < target < 1:
                bad(
                    "mde",
                    f"baseline {spec.baseline} with this effect gives rate {target:.6g}, "
                    "outside (0, 1)",
                    "use a smaller effect",
                )
    else:
        if spec.sd is None or spec.sd <= 0:
            bad(
                "sd",
                "a mean metric needs a positive standard deviation",
                "pass the per-user standard deviation from past data",
            )
        if spec.effect_type == "relative" and spec.baseline == 0:
            bad(
                "baseline",
                "a relative effect needs a non-zero baseline mean",
                "give the effect as absolute instead",
            )
    return problems


def _target(spec: PlanInput) -> float:
    if spec.effect_type == "relative":
        return spec.baseline * (1 + spec.mde)
    return spec.baseline + spec.mde


def plan(spec: PlanInput) -> Plan:
    """Sample size per arm (rounded up), total sample and, given traffic, days to run."""
    problems = _check(spec)
    if problems:
        raise MarketopsError("experiment plan inputs are not valid", problems)
    comparisons = spec.arms - 1
    alpha_c = adjusted_alpha(spec.alpha, comparisons, spec.adjustment)
    target = _target(spec)
    delta = target - spec.baseline
    if spec.kind == "proportion":
        raw = n_two_proportions(spec.baseline, target, alpha_c, spec.power, spec.variance)
        formula = FORMULAS[("proportion", spec.variance)]
    else:
        assert spec.sd is not None
        raw = n_two_means(delta, spec.sd, alpha_c, spec.power, spec.test)
        formula = FORMULAS[("mean", spec.test)]
    # 1e-9 guards against 3841.0000000002 becoming 3842 through float noise
    n_per_arm = max(2, math.ceil(raw - 1e-9))
    total = n_per_arm * spec.arms
    days = math.ceil(total / spec.traffic_per_day) if spec.traffic_per_day else None
    return Plan(
        formula=formula,
        kind=spec.kind,
        baseline=spec.baseline,
        target=target,
        absolute_effect=delta,
        relative_effect=delta / spec.baseline if spec.baseline else math.nan,
        alpha=spec.alpha,
        alpha_per_comparison=alpha_c,
        adjustment=spec.adjustment if comparisons > 1 else "none",
        comparisons=comparisons,
        power=spec.power,
        arms=spec.arms,
        n_per_arm_exact=raw,
        n_per_arm=n_per_arm,
        total_sample=total,
        traffic_per_day=spec.traffic_per_day,
        duration_days=days,
    )
