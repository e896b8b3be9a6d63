"""Sample-size planning against published references and hand computation."""

from __future__ import annotations

import math

import pytest
from scipy.stats import norm
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import power_proportions_2indep

from marketops.errors import MarketopsError
from marketops.ops.experiments import PlanInput, plan
from marketops.ops.experiments.planning import adjusted_alpha


def test_two_proportions_matches_r_power_prop_test_example() -> None:
    # R documentation, stats::power.prop.test examples:
    #   power.prop.test(p1 = .50, p2 = .75, power = .90)  # => n = 76.7
    result = plan(PlanInput("proportion", 0.50, 0.25, "absolute", power=0.90))
    assert result.n_per_arm_exact == pytest.approx(76.7, abs=0.05)
    assert result.n_per_arm == 77
    assert "pooled" in result.formula


def test_two_proportions_hand_computed_pooled_and_unpooled() -> None:
    # p1 = 0.10, p2 = 0.12, alpha 0.05 two-sided (z = 1.959964), power 0.8 (z = 0.841621):
    # pooled:   (1.959964*sqrt(2*.11*.89) + 0.841621*sqrt(.09+.1056))^2 / .02^2 = 3840.85
    # unpooled: (1.959964 + 0.841621)^2 * (.09 + .1056) / .02^2 = 3838.10
    pooled = plan(PlanInput("proportion", 0.10, 0.20))  # +20% relative
    unpooled = plan(PlanInput("proportion", 0.10, 0.02, "absolute", variance="unpooled"))
    assert pooled.target == pytest.approx(0.12)
    assert pooled.n_per_arm_exact == pytest.approx(3840.85, abs=0.01)
    assert pooled.n_per_arm == 3841
    assert unpooled.n_per_arm_exact == pytest.approx(3838.10, abs=0.01)
    assert unpooled.n_per_arm == 3839


def test_pooled_size_gives_requested_power_in_statsmodels() -> None:
    # statsmodels' power for two independent proportions uses the pooled variance under H0
    result = plan(PlanInput("proportion", 0.04, 0.15, power=0.85))
    diff = result.target - result.baseline
    power = power_proportions_2indep(diff, result.baseline, result.n_per_arm_exact).power
    assert power == pytest.approx(0.85, abs=1e-4)


def test_means_t_matches_r_power_t_test_example() -> None:
    # R documentation, stats::power.t.test examples:
    #   power.t.test(power = .90, delta = 1)  # => n = 22.02110
    result = plan(PlanInput("mean", 10.0, 1.0, "absolute", sd=1.0, power=0.90))
    assert result.n_per_arm_exact == pytest.approx(22.02110, abs=1e-4)
    assert result.n_per_arm == 23
    # and the same example's inverse: power.t.test(n = 20, delta = 1) => power = 0.8689528
    assert TTestIndPower().power(effect_size=1.0, nobs1=20, alpha=0.05) == pytest.approx(
        0.8689528, abs=1e-6
    )


def test_means_z_is_the_closed_form() -> None:
    # n = 2 (z_.975 + z_.9)^2 sd^2 / delta^2 = 2 * (1.959964 + 1.281552)^2 = 21.0148
    result = plan(PlanInput("mean", 10.0, 1.0, "absolute", sd=1.0, power=0.90, test="z"))
    assert result.n_per_arm_exact == pytest.approx(21.0148, abs=1e-4)
    expected = NormalIndPower().solve_power(effect_size=1.0, alpha=0.05, power=0.9)
    assert result.n_per_arm_exact == pytest.approx(expected)


def test_relative_mean_effect_uses_baseline() -> None:
    # +5% of a 50 mean is +2.5; sd 80 -> effect size 0.03125, t-test n = 16075.4 (statsmodels)
    result = plan(PlanInput("mean", 50.0, 0.05, sd=80.0))
    assert result.absolute_effect == pytest.approx(2.5)
    ref = TTestIndPower().solve_power(effect_size=2.5 / 80, alpha=0.05, power=0.8)
    assert result.n_per_arm == math.ceil(ref)


def test_multiple_arms_split_alpha() -> None:
    three = plan(PlanInput("proportion", 0.10, 0.20, arms=3))
    assert three.comparisons == 2
    assert three.alpha_per_comparison == pytest.approx(0.025)
    # same as a two-arm test run at alpha 0.025
    two = plan(PlanInput("proportion", 0.10, 0.20, alpha=0.025))
    assert three.n_per_arm == two.n_per_arm
    assert three.total_sample == 3 * three.n_per_arm
    # Šidák: 1 - (1 - 0.05)^(1/2) = 0.0253206
    assert adjusted_alpha(0.05, 2, "sidak") == pytest.approx(0.0253206, abs=1e-7)
    sidak = plan(PlanInput("proportion", 0.10, 0.20, arms=3, adjustment="sidak"))
    assert sidak.n_per_arm < three.n_per_arm


def test_duration_rounds_up_whole_days() -> None:
    result = plan(PlanInput("proportion", 0.10, 0.20, traffic_per_day=1000))
    assert result.total_sample == 2 * 3841
    assert result.duration_days == 8  # 7682 / 1000 = 7.68 -> 8 days


def test_effect_size_scales_with_inverse_square() -> None:
    # halving the effect quadruples the sample; statsmodels solves numerically (and counts the
    # far tail), so the closed form holds to ~1e-5 relative
    z = (norm.ppf(0.975) + norm.ppf(0.8)) ** 2
    a = plan(PlanInput("mean", 0.0, 2.0, "absolute", sd=10.0, test="z"))
    b = plan(PlanInput("mean", 0.0, 1.0, "absolute", sd=10.0, test="z"))
    assert a.n_per_arm_exact == pytest.approx(2 * z * 100 / 4, rel=1e-5)
    assert b.n_per_arm_exact == pytest.approx(4 * a.n_per_arm_exact, rel=1e-5)


def test_invalid_inputs_name_each_field() -> None:
    with pytest.raises(MarketopsError) as exc:
        plan(PlanInput("proportion", 1.5, 0.0, alpha=2, power=0, arms=1, traffic_per_day=-1))
    fields = {p.where for p in exc.value.problems}
    assert {"baseline", "mde", "alpha", "power", "arms", "traffic_per_day"} <= fields


def test_mean_needs_sd_and_target_rate_must_stay_a_rate() -> None:
    with pytest.raises(MarketopsError) as exc:
        plan(PlanInput("mean", 10.0, 0.1))
    assert [p.where for p in exc.value.problems] == ["sd"]
    with pytest.raises(MarketopsError) as exc:
        plan(PlanInput("proportion", 0.6, 1.0))  # 0.6 * 2 = 1.2 is not a rate
    assert exc.value.problems[0].where == "mde"
