"""`marketops experiment plan|analyze` through Typer's CliRunner, plus experiments.yml validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from marketops.cli import app
from marketops.workspace import validate_workspace

runner = CliRunner()
COUNTS = """variant,metric,users,sum,sum_squares
control,signup,10000,500,
proof_hero,signup,10000,600,
control,revenue,10000,41000,9500000
proof_hero,revenue,10000,43500,10200000
control,demo_request,10000,300,
proof_hero,demo_request,10000,300,
"""


def test_plan_table_names_the_formula() -> None:
    res = runner.invoke(
        app, ["experiment", "plan", "--rate", "0.1", "--mde", "0.2", "--traffic-per-day", "1000"]
    )
    assert res.exit_code == 0, res.output
    assert "pooled variance" in res.output
    assert "3,841" in res.output  # hand-computed in test_experiments_planning.py
    assert "8 days" in res.output


def test_plan_json_for_means() -> None:
    res = runner.invoke(
        app,
        [
            "experiment",
            "plan",
            "--mean",
            "10",
            "--sd",
            "1",
            "--mde",
            "1",
            "--absolute",
            "--power",
            "0.9",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["n_per_arm"] == 23  # R power.t.test(power=.9, delta=1): n = 22.02
    assert "t-test" in out["formula"]


def test_plan_input_errors_exit_1() -> None:
    res = runner.invoke(app, ["experiment", "plan", "--rate", "3", "--mde", "0.1"])
    assert res.exit_code == 1
    assert "baseline" in res.output
    res = runner.invoke(app, ["experiment", "plan", "--mde", "0.1"])
    assert res.exit_code == 1 and "--rate" in res.output


def test_analyze_counts_json(tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    f.write_text(COUNTS)
    res = runner.invoke(
        app,
        [
            "experiment",
            "analyze",
            str(f),
            "--guardrail",
            "demo_request:higher",
            "--correction",
            "bh",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    by = {c["metric"]: c for c in out["comparisons"]}
    assert by["signup"]["relative_lift"] == pytest.approx(0.2)
    assert by["demo_request"]["role"] == "guardrail" and by["demo_request"]["verdict"] == "ok"
    assert "Benjamini-Hochberg" in out["correction"]
    assert out["srm"]["flagged"] is False


def test_analyze_table_and_blocker_exit_code(tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    f.write_text(COUNTS)
    res = runner.invoke(app, ["experiment", "analyze", str(f), "--split", "control=1,proof_hero=1"])
    assert res.exit_code == 0, res.output
    assert "Lift vs control" in res.output and "Welch" in res.output
    # 10000 vs 10600 users on a 50/50 plan: chi2 = 600^2/20600 = 17.5, p = 2.9e-5 < 0.001
    f.write_text(COUNTS.replace("proof_hero,signup,10000", "proof_hero,signup,10600"))
    res = runner.invoke(app, ["experiment", "analyze", str(f)])
    assert res.exit_code == 1
    assert "sample ratio mismatch" in res.output


def test_analyze_bad_rows_exit_1_with_line(tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    f.write_text("variant,metric,users,sum\ncontrol,m,100,5\ntreat,m,100,500\n")
    res = runner.invoke(app, ["experiment", "analyze", str(f)])
    assert res.exit_code == 1
    assert "r.csv:3" in res.output and "conversions must be between 0 and users" in res.output
    res = runner.invoke(app, ["experiment", "analyze", str(f), "--split", "control"])
    assert res.exit_code == 1 and "VARIANT=WEIGHT" in res.output
    res = runner.invoke(app, ["experiment", "analyze", str(f), "--guardrail", "m:up"])
    assert res.exit_code == 1 and "higher" in res.output


def test_analyze_experiment_from_workspace(tmp_path: Path, workspace_dir: Path) -> None:
    ws = workspace_dir  # `marketops init` output, with the example experiments.yml
    f = tmp_path / "r.csv"
    f.write_text(COUNTS)
    res = runner.invoke(
        app,
        [
            "experiment",
            "analyze",
            str(f),
            "-w",
            str(ws),
            "--experiment",
            "homepage-hero-2026q4",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    roles = {c["metric"]: c["role"] for c in out["comparisons"]}
    assert roles == {"signup": "goal", "revenue": "goal", "demo_request": "guardrail"}
    res = runner.invoke(app, ["experiment", "analyze", str(f), "-w", str(ws), "-e", "nope"])
    assert res.exit_code == 1 and "homepage-hero-2026q4" in res.output


def test_experiment_option_outside_a_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MARKETOPS_WORKSPACE", raising=False)
    f = tmp_path / "r.csv"
    f.write_text(COUNTS)
    res = runner.invoke(app, ["experiment", "analyze", str(f), "-e", "x"])
    assert res.exit_code == 1 and "needs a workspace" in res.output


def test_template_validates_and_cross_references_are_checked(workspace_dir: Path) -> None:
    ws = workspace_dir
    assert [p for p in validate_workspace(ws) if "experiments.yml" in p.where] == []
    (ws / "experiments.yml").write_text(
        "metrics: {signup: {}}\n"
        "experiments:\n"
        "  - key: a\n    variants: {c: 1, t: 1}\n    control: x\n"
        "    goal_metrics: [signup, clicks]\n"
        "  - key: a\n    variants: {c: 1}\n    goal_metrics: [signup]\n    colour: red\n"
    )
    problems = [str(p) for p in validate_workspace(ws) if "experiments.yml" in p.where]
    assert any(":10:" in p and "colour" in p for p in problems)  # schema errors carry the line
    assert any("variants" in p and "two variants" in p for p in problems)
    (ws / "experiments.yml").write_text(
        "metrics: {signup: {}}\n"
        "experiments:\n"
        "  - key: a\n    variants: {c: 1, t: 1}\n    control: x\n"
        "    goal_metrics: [signup, clicks]\n"
        "  - key: a\n    variants: {c: 1, t: 1}\n    goal_metrics: [signup]\n"
    )
    problems = [p.message for p in validate_workspace(ws) if "experiments.yml" in p.where]
    assert any("duplicate experiment key" in m for m in problems)
    assert any("control 'x'" in m for m in problems)
    assert any("'clicks' is not declared" in m for m in problems)


def test_names_are_printed_literally_not_as_markup(tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    f.write_text("variant,metric,users,sum\n[bold]old,m,1000,100\n[red]new,m,1000,110\n")
    res = runner.invoke(app, ["experiment", "analyze", str(f)])
    assert res.exit_code == 0, res.output
    assert "[red]new" in res.output and "Lift vs [bold]old" in res.output
