"""`analyze`: verdicts, SRM and guardrail blockers, corrections, control and split handling."""

from __future__ import annotations

import pytest

from marketops.errors import MarketopsError
from marketops.ops.experiments import (
    AnalysisSettings,
    MetricRole,
    SampleStat,
    analyze,
    compare,
    from_records,
)
from marketops.ops.experiments.config import ExperimentsFile
from marketops.ops.experiments.usecases import Overrides, analyze_experiment


def _rows(*items: tuple[str, str, int, float]) -> list[dict[str, object]]:
    return [{"variant": v, "metric": m, "users": n, "sum": s} for v, m, n, s in items]


DATA = from_records(
    _rows(
        ("control", "signup", 10000, 500),
        ("treat", "signup", 10000, 600),
        ("control", "demo", 10000, 300),
        ("treat", "demo", 10000, 230),
        ("control", "click", 10000, 2000),
        ("treat", "click", 10000, 2040),
    )
)


def test_goal_win_and_guardrail_degradation() -> None:
    result = analyze(
        DATA, [MetricRole("signup"), MetricRole("click"), MetricRole("demo", "guardrail")]
    )
    by = {c.metric: c for c in result.comparisons}
    assert [c.metric for c in result.comparisons] == ["signup", "click", "demo"]
    # numbers are the gbstats-compatible test's own (see test_experiments_statistics.py)
    ref = compare(SampleStat.proportion(500, 10000), SampleStat.proportion(600, 10000))
    assert by["signup"].relative_lift == pytest.approx(0.2)
    assert by["signup"].absolute_lift == pytest.approx(0.01)
    assert by["signup"].p_value == pytest.approx(ref.p_value)
    assert by["signup"].verdict == "win"
    assert by["click"].verdict == "inconclusive"
    assert by["demo"].verdict == "degraded"
    assert result.blockers == [b for b in result.blockers if "guardrail demo" in b]
    assert not result.srm.flagged


def test_lower_is_better_turns_a_drop_into_a_win() -> None:
    result = analyze(DATA, [MetricRole("demo", "goal", higher_is_better=False)])
    assert {c.metric: c.verdict for c in result.comparisons}["demo"] == "win"
    guard = analyze(DATA, [MetricRole("demo", "guardrail", higher_is_better=False)])
    assert [c.verdict for c in guard.comparisons if c.metric == "demo"] == ["ok"]


def test_holm_adjusts_goals_only() -> None:
    result = analyze(
        DATA, [MetricRole("signup"), MetricRole("click"), MetricRole("demo", "guardrail")]
    )
    by = {c.metric: c for c in result.comparisons}
    raw = sorted([by["signup"].p_value, by["click"].p_value])
    # Holm with two goals: smallest p doubled, the other max(itself, that)
    assert by["signup"].adjusted_p_value == pytest.approx(min(1, 2 * raw[0]))
    assert by["click"].adjusted_p_value == pytest.approx(max(2 * raw[0], raw[1]))
    assert by["demo"].adjusted_p_value == by["demo"].p_value
    assert "Holm" in result.correction


def test_bh_is_less_strict_than_holm() -> None:
    roles = [MetricRole("signup"), MetricRole("click")]
    holm = analyze(DATA, roles, AnalysisSettings(correction="holm"))
    bh = analyze(DATA, roles, AnalysisSettings(correction="bh"))
    for h, b in zip(holm.comparisons, bh.comparisons, strict=True):
        assert b.adjusted_p_value <= h.adjusted_p_value * (1 + 1e-12)
    assert "Benjamini-Hochberg" in bh.correction


def test_srm_blocks() -> None:
    data = from_records(_rows(("control", "signup", 10000, 500), ("treat", "signup", 9400, 500)))
    result = analyze(data)
    assert result.srm.flagged
    assert any("sample ratio mismatch" in b for b in result.blockers)
    # the same counts against a planned 51.5/48.5 split are fine
    ok = analyze(data, settings=AnalysisSettings(weights={"control": 51.5, "treat": 48.5}))
    assert not ok.srm.flagged and not ok.blockers


def test_sequential_names_its_method_and_is_more_cautious() -> None:
    fixed = analyze(DATA, [MetricRole("signup")])
    seq = analyze(DATA, [MetricRole("signup")], AnalysisSettings(sequential=True))
    assert "Waudby-Smith" in seq.method and "N = 5000" in seq.method
    assert "Welch" in fixed.method
    f, s = fixed.comparisons[0], seq.comparisons[0]
    assert s.relative_ci[0] < f.relative_ci[0] and s.relative_ci[1] > f.relative_ci[1]


def test_multi_arm_compares_each_with_control() -> None:
    data = from_records(
        _rows(("control", "m", 1000, 100), ("b", "m", 1000, 120), ("c", "m", 1000, 90))
    )
    result = analyze(data)
    assert [(c.variant, c.control) for c in result.comparisons] == [
        ("b", "control"),
        ("c", "control"),
    ]


def test_control_defaults_to_first_variant_without_a_control_row() -> None:
    data = from_records(_rows(("old", "m", 1000, 100), ("new", "m", 1000, 120)))
    assert analyze(data).control == "old"
    assert analyze(data, settings=AnalysisSettings(control="new")).control == "new"


def test_user_errors_are_collected() -> None:
    with pytest.raises(MarketopsError) as exc:
        analyze(
            DATA,
            [MetricRole("revenue")],
            AnalysisSettings(control="ctrl", weights={"control": 1, "x": 0}, alpha=1.5),
        )
    where = {p.where for p in exc.value.problems}
    assert {"alpha", "control", "variant", "split", "metric revenue"} <= where


def test_not_estimable_metric_is_reported_not_dropped() -> None:
    data = from_records(_rows(("control", "m", 1000, 0), ("treat", "m", 1000, 3)))
    c = analyze(data).comparisons[0]
    assert c.verdict == "not estimable" and "control mean is 0" in (c.note or "")
    assert analyze(data).as_dict()["comparisons"][0]["relative_lift"] is None


def test_settings_layering_from_experiments_file() -> None:
    config = ExperimentsFile.model_validate(
        {
            "defaults": {"correction": "bh", "alpha": 0.1},
            "metrics": {"demo": {"higher_is_better": False}},
            "experiments": [
                {
                    "key": "x",
                    "variants": {"treat": 1, "control": 1},
                    "control": "control",
                    "goal_metrics": ["signup"],
                    "guardrail_metrics": ["demo"],
                }
            ],
        }
    )
    result = analyze_experiment(DATA, config, "x")
    assert result.alpha == 0.1 and "Benjamini" in result.correction
    assert [c.metric for c in result.comparisons] == ["signup", "click", "demo"]
    # demo is lower-is-better in the file, so its drop is not a degradation
    assert {c.metric: c.verdict for c in result.comparisons}["demo"] == "ok"
    # explicit overrides win over the file
    over = analyze_experiment(
        DATA, config, "x", Overrides(correction="holm", guardrails=[("demo", True)])
    )
    assert "Holm" in over.correction
    assert {c.metric: c.verdict for c in over.comparisons}["demo"] == "degraded"
    with pytest.raises(MarketopsError, match="no experiment 'y'"):
        analyze_experiment(DATA, config, "y")
