"""The tests behind `experiment analyze`, written to agree with GrowthBook's stats engine (gbstats).

* Fixed horizon: Welch's unequal-variance t-test with Welch–Satterthwaite degrees of freedom; the
  relative lift (B-A)/A uses the delta-method variance, as gbstats' `TwoSidedTTest` does.
* Sequential: the asymptotic always-valid confidence sequence of Waudby-Smith, Arbour, Sinha,
  Kennedy & Ramdas, "Time-uniform central limit theory and asymptotic confidence sequences" (2023,
  arXiv:2103.06476, eq. 9 for the half-width, eq. 155 for the p-value, eq. 161 for rho from the
  tuning parameter N), as in gbstats' `SequentialTwoSidedTTest`. Peeking does not inflate alpha.
* SRM: Pearson chi-square goodness-of-fit of users per variant against the planned split.
* Multiple goal metrics: Holm (FWER, `holm` below) or Benjamini-Hochberg (FDR, scipy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

Difference = Literal["relative", "absolute"]
Correction = Literal["holm", "bh", "none"]

FIXED_METHOD = "Welch two-sided t-test (Welch-Satterthwaite df; delta method for relative lift)"
SEQUENTIAL_METHOD = (
    "always-valid asymptotic confidence sequence (Waudby-Smith et al. 2023, as GrowthBook)"
)
SRM_METHOD = "Pearson chi-square goodness-of-fit against the planned split"
CORRECTIONS = {
    "holm": "Holm step-down (family-wise error rate)",
    "bh": "Benjamini-Hochberg (false discovery rate)",
    "none": "no adjustment",
}


@dataclass(frozen=True)
class SampleStat:
    """One metric in one variant: units, mean and per-unit variance."""

    n: int
    mean: float
    variance: float

    @classmethod
    def proportion(cls, conversions: float, n: int) -> SampleStat:
        """Bernoulli variance p(1-p), as gbstats' ProportionStatistic."""
        p = conversions / n if n else 0.0
        return cls(n=n, mean=p, variance=p * (1 - p))

    @classmethod
    def from_sums(cls, total: float, sum_squares: float, n: int) -> SampleStat:
        """Sample (n-1) variance from the sufficient statistics a warehouse query returns."""
        mean = total / n if n else 0.0
        variance = (sum_squares - total**2 / n) / (n - 1) if n > 1 else 0.0
        return cls(n=n, mean=mean, variance=max(variance, 0.0))


@dataclass(frozen=True)
class Effect:
    """An estimate of B versus A; `error` says why nothing could be estimated."""

    estimate: float
    ci: tuple[float, float]
    se: float
    p_value: float
    error: str | None = None


def _moments(a: SampleStat, b: SampleStat, difference: Difference) -> tuple[float, float]:
    if difference == "absolute":
        return b.mean - a.mean, b.variance / b.n + a.variance / a.n
    estimate = (b.mean - a.mean) / a.mean
    variance = b.variance / (a.mean**2 * b.n) + a.variance * b.mean**2 / (a.mean**4 * a.n)
    return estimate, variance


def welch_df(a: SampleStat, b: SampleStat) -> float:
    va, vb = a.variance / a.n, b.variance / b.n
    return (va + vb) ** 2 / (vb**2 / (b.n - 1) + va**2 / (a.n - 1))


def sequential_rho(alpha: float, tuning: float) -> float:
    """Mixing parameter from the sample size N where the sequence should be tightest (eq. 161)."""
    log_a = math.log(alpha)
    return math.sqrt((-2 * log_a + math.log(-2 * log_a + 1)) / tuning)


def _invalid(reason: str) -> Effect:
    return Effect(math.nan, (math.nan, math.nan), math.nan, math.nan, reason)


def compare(
    a: SampleStat,
    b: SampleStat,
    *,
    difference: Difference = "relative",
    alpha: float = 0.05,
    sequential_tuning: float | None = None,
) -> Effect:
    """Effect of B (treatment) over A (control); sequential when a tuning N is given."""
    if a.n < 2 or b.n < 2:
        return _invalid("each variant needs at least 2 units")
    if difference == "relative" and a.mean == 0:
        return _invalid("control mean is 0: relative lift is undefined")
    estimate, variance = _moments(a, b, difference)
    if not variance > 0:
        return _invalid("variance is 0: the metric did not vary")
    se = math.sqrt(variance)
    if sequential_tuning is None:
        df = welch_df(a, b)
        width = float(stats.t.ppf(1 - alpha / 2, df)) * se
        p = 2 * float(stats.t.sf(abs(estimate) / se, df))
        return Effect(estimate, (estimate - width, estimate + width), se, p)
    n = a.n + b.n
    rho = sequential_rho(alpha, sequential_tuning)
    s2 = variance * n  # per-unit variance analogue of the paper's sigma^2
    tr2p1 = n * rho**2 + 1
    width = math.sqrt(s2) * math.sqrt(
        2 * tr2p1 * math.log(math.sqrt(tr2p1) / alpha) / (n * rho) ** 2
    )
    st2 = (n * estimate) ** 2 / s2
    log_e = rho**2 * st2 / (2 * tr2p1) - 0.5 * math.log(tr2p1)
    p = 1.0 if log_e <= 0 else math.exp(-log_e)  # log form: large e-values must not overflow
    return Effect(estimate, (estimate - width, estimate + width), se, min(p, 1.0))


@dataclass(frozen=True)
class SrmResult:
    observed: dict[str, int]
    expected: dict[str, float]
    chi2: float
    p_value: float
    threshold: float
    flagged: bool
    method: str = SRM_METHOD


def srm_check(
    users: dict[str, int], weights: dict[str, float], threshold: float = 0.001
) -> SrmResult:
    """Sample-ratio mismatch: were users split as planned? Flagged when p < threshold."""
    names = list(weights)
    total_w = sum(weights.values())
    observed = np.array([users.get(v, 0) for v in names], dtype=float)
    total = observed.sum()
    expected = total * np.array([weights[v] / total_w for v in names])
    if total == 0:
        chi2, p = 0.0, 1.0
    else:
        res = stats.chisquare(observed, f_exp=expected)
        chi2, p = float(res.statistic), float(res.pvalue)
    return SrmResult(
        observed={v: int(users.get(v, 0)) for v in names},
        expected={v: float(e) for v, e in zip(names, expected, strict=True)},
        chi2=chi2,
        p_value=p,
        threshold=threshold,
        flagged=p < threshold,
    )


def holm(p_values: list[float]) -> list[float]:
    """Holm step-down adjusted p-values: sorted p_(i) * (m - i + 1), made monotone, capped at 1.

    Written out because statsmodels' `multipletests(method="holm")` runs `gc.collect()` on every
    call (~150 ms here; statsmodels PR #8671); the tests compare this with it.
    """
    m = len(p_values)
    order = np.argsort(p_values, kind="stable")
    scaled = np.asarray(p_values, dtype=float)[order] * (m - np.arange(m))
    adjusted = np.minimum(np.maximum.accumulate(scaled), 1.0)
    out = np.empty(m)
    out[order] = adjusted
    return [float(x) for x in out]


def adjust_p_values(p_values: list[float], method: Correction) -> list[float]:
    """Adjusted p-values; compare them with alpha directly. NaN (not estimable) stays NaN."""
    if method == "none" or not p_values:
        return list(p_values)
    idx = [i for i, p in enumerate(p_values) if not math.isnan(p)]
    out = [math.nan] * len(p_values)
    if idx:
        kept = [p_values[i] for i in idx]
        adjusted = holm(kept) if method == "holm" else stats.false_discovery_control(kept)
        for i, q in zip(idx, adjusted, strict=True):
            out[i] = float(q)
    return out
