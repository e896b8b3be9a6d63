"""The analysis statistics against GrowthBook's published test cases, scipy and statsmodels.

Reference values marked "gbstats" come from GrowthBook's stats engine test suite:
github.com/growthbook/growthbook, packages/stats/tests/frequentist/test_tests.py
(TestTwoSidedTTest, TestSequentialTTest) and packages/stats/tests/test_gbstats.py (test_srm).
gbstats rounds to 5 decimals, so we compare at 5e-6.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from marketops.ops.experiments import SampleStat, adjust_p_values, compare, srm_check

GB = 5e-6  # gbstats asserts values rounded to 5 decimals

# gbstats SampleMeanStatistic(sum=1396.87, sum_squares=52377.9767, n=3407) vs
# SampleMeanStatistic(sum=2422.7, sum_squares=134698.29, n=3461)
A_MEAN = SampleStat.from_sums(1396.87, 52377.9767, 3407)
B_MEAN = SampleStat.from_sums(2422.7, 134698.29, 3461)


def test_relative_ttest_matches_gbstats() -> None:
    # gbstats test_two_sided_ttest: expected 0.70732, ci (-0.03526, 1.44989),
    # uplift stddev 0.37879, p 0.06191
    e = compare(A_MEAN, B_MEAN, difference="relative")
    assert e.estimate == pytest.approx(0.70732, abs=GB)
    assert e.ci[0] == pytest.approx(-0.03526, abs=GB)
    assert e.ci[1] == pytest.approx(1.44989, abs=GB)
    assert e.se == pytest.approx(0.37879, abs=GB)
    assert e.p_value == pytest.approx(0.06191, abs=GB)


def test_absolute_ttest_matches_gbstats() -> None:
    # gbstats test_two_sided_ttest_absolute: expected 0.29, ci (0.04538, 0.53462),
    # stddev 0.12478, p 0.02016
    e = compare(A_MEAN, B_MEAN, difference="absolute")
    assert e.estimate == pytest.approx(0.29, abs=GB)
    assert e.ci == pytest.approx((0.04538, 0.53462), abs=GB)
    assert e.se == pytest.approx(0.12478, abs=GB)
    assert e.p_value == pytest.approx(0.02016, abs=GB)


def test_proportion_ttest_matches_gbstats() -> None:
    # gbstats test_two_sided_ttest_binom: ProportionStatistic(14, 28) vs (16, 30):
    # expected (16/30 - 0.5)/0.5, ci (-0.47767, 0.61101), stddev 0.2717, p 0.80707
    e = compare(SampleStat.proportion(14, 28), SampleStat.proportion(16, 30))
    assert e.estimate == pytest.approx((16 / 30 - 0.5) / 0.5)
    assert e.ci == pytest.approx((-0.47767, 0.61101), abs=GB)
    assert e.se == pytest.approx(0.2717, abs=GB)
    assert e.p_value == pytest.approx(0.80707, abs=GB)


def test_sequential_means_match_gbstats() -> None:
    # gbstats test_sequential_test_runs: n=3000 vs 3461, sequential_tuning_parameter=1000:
    # expected 0.50336, ci (-0.55844, 1.56516), stddev 0.33341, p 1
    a = SampleStat.from_sums(1396.87, 52377.9767, 3000)
    e = compare(a, B_MEAN, sequential_tuning=1000)
    assert e.estimate == pytest.approx(0.50336, abs=GB)
    assert e.ci == pytest.approx((-0.55844, 1.56516), abs=GB)
    assert e.se == pytest.approx(0.33341, abs=GB)
    assert e.p_value == 1.0


def test_sequential_proportions_match_gbstats() -> None:
    # gbstats test_sequential_test_runs_prop: ProportionStatistic(1396, 3000) vs (2422, 3461),
    # default tuning 5000: expected 0.50386, ci (0.40098, 0.60675), stddev 0.03386, p 0.0
    e = compare(
        SampleStat.proportion(1396, 3000), SampleStat.proportion(2422, 3461), sequential_tuning=5000
    )
    assert e.estimate == pytest.approx(0.50386, abs=GB)
    assert e.ci == pytest.approx((0.40098, 0.60675), abs=GB)
    assert e.se == pytest.approx(0.03386, abs=GB)
    assert e.p_value == pytest.approx(0.0, abs=GB)


def test_sequential_interval_is_tightest_near_tuning_n() -> None:
    # gbstats test_sequential_test_tuning_as_expected: N=10 and N=10000 both wider than N=6461
    a = SampleStat.from_sums(1396.87, 52377.9767, 3000)

    def width(n: float) -> float:
        lo, hi = compare(a, B_MEAN, sequential_tuning=n).ci
        return hi - lo

    assert width(10) > width(10000) > width(6461)
    # and always wider than the fixed-horizon interval, the price of peeking safely
    fixed = compare(a, B_MEAN).ci
    assert width(6461) > fixed[1] - fixed[0]


def test_sequential_p_value_and_interval_agree() -> None:
    # the p-value is the inverted e-value of the same confidence sequence: 0 is outside the
    # interval exactly when p < alpha
    for conv_b in (140, 150, 160, 170, 180, 190):
        e = compare(
            SampleStat.proportion(120, 2000),
            SampleStat.proportion(conv_b, 2000),
            sequential_tuning=4000,
        )
        assert (e.p_value < 0.05) == (e.ci[0] > 0 or e.ci[1] < 0)


def test_absolute_welch_equals_scipy_on_raw_data() -> None:
    rng = np.random.default_rng(7)
    a = rng.gamma(2.0, 3.0, 800)
    b = rng.gamma(2.2, 3.0, 650)
    sa = SampleStat.from_sums(a.sum(), (a**2).sum(), a.size)
    sb = SampleStat.from_sums(b.sum(), (b**2).sum(), b.size)
    e = compare(sa, sb, difference="absolute")
    ref = stats.ttest_ind(b, a, equal_var=False)
    assert e.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    ci = ref.confidence_interval(0.95)
    assert e.ci == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_srm_matches_gbstats() -> None:
    # gbstats test_srm: check_srm([1000, 1200], [0.5, 0.5]) == 0.000020079 (9 decimals)
    r = srm_check({"a": 1000, "b": 1200}, {"a": 0.5, "b": 0.5})
    assert r.p_value == pytest.approx(0.000020079, abs=5e-10)
    assert r.flagged  # below the 0.001 threshold
    # hand: expected 1100 each, chi2 = 2 * 100^2 / 1100 = 18.1818
    assert r.chi2 == pytest.approx(200 / 11)


def test_srm_uses_the_planned_split() -> None:
    # 9000/1000 is exactly a 90/10 plan: chi2 = 0, p = 1; the same counts against 50/50 flag
    planned = srm_check({"c": 9000, "t": 1000}, {"c": 90, "t": 10})
    assert planned.chi2 == pytest.approx(0.0)
    assert planned.p_value == pytest.approx(1.0)
    assert not planned.flagged
    assert srm_check({"c": 9000, "t": 1000}, {"c": 1, "t": 1}).flagged


def test_srm_missing_variant_counts_as_zero() -> None:
    r = srm_check({"c": 500}, {"c": 1, "t": 1})
    assert r.observed == {"c": 500, "t": 0}
    assert r.flagged


def test_holm_and_bh_hand_computed_and_statsmodels() -> None:
    p = [0.01, 0.04, 0.03]
    # Holm: sorted 0.01*3 = 0.03, 0.03*2 = 0.06, max(0.04*1, 0.06) = 0.06
    assert adjust_p_values(p, "holm") == pytest.approx([0.03, 0.06, 0.06])
    # BH: 0.01*3/1 = 0.03, 0.03*3/2 = 0.045 -> min(0.045, 0.04) = 0.04, 0.04*3/3 = 0.04
    assert adjust_p_values(p, "bh") == pytest.approx([0.03, 0.04, 0.04])
    assert adjust_p_values(p, "none") == p
    ref = multipletests(p, method="fdr_bh")[1]
    assert adjust_p_values(p, "bh") == pytest.approx(list(ref))


def test_holm_and_bh_agree_with_statsmodels_on_many_p_values() -> None:
    rng = np.random.default_rng(11)
    p = list(np.concatenate([rng.uniform(0, 1, 40), rng.uniform(0, 0.01, 10), [0.5, 0.5]]))
    for ours, sm in (("holm", "holm"), ("bh", "fdr_bh")):
        ref = multipletests(p, method=sm)[1]
        assert adjust_p_values(p, ours) == pytest.approx(list(ref), rel=1e-12)


def test_adjustment_leaves_non_estimable_out() -> None:
    out = adjust_p_values([0.01, math.nan, 0.02], "holm")
    assert math.isnan(out[1])
    assert out[0] == pytest.approx(0.02) and out[2] == pytest.approx(0.02)


def test_not_estimable_cases_say_why() -> None:
    zero = SampleStat.proportion(0, 100)
    assert "control mean is 0" in (compare(zero, SampleStat.proportion(5, 100)).error or "")
    assert "variance" in (compare(zero, zero, difference="absolute").error or "")
    assert "2 units" in (compare(SampleStat(1, 1.0, 0.0), SampleStat(5, 1.0, 1.0)).error or "")
