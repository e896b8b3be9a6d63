"""`marketops attribute` through Typer's runner: tables, files, JSON, and user errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from marketops.cli import app

runner = CliRunner()
NOW = ["--now", "2024-03-01T00:00:00Z"]


def _files(tmp: Path) -> list[str]:
    (tmp / "tp.csv").write_text(
        "person_id,ts,channel,campaign\n"
        "p1,2024-01-01T00:00:00Z,ads,c1\n"
        "p1,2024-01-02T00:00:00Z,email,c2\n"
        "p2,2024-01-02T00:00:00Z,ads,c1\n",
        encoding="utf-8",
    )
    (tmp / "cv.csv").write_text(
        "conversion_id,person_id,ts,kind,amount\nw1,p1,2024-01-03T00:00:00Z,closed_won,100.00\n",
        encoding="utf-8",
    )
    (tmp / "costs.csv").write_text(
        "campaign,channel,day,spend\nc1,ads,2024-01-01,40.00\n", encoding="utf-8"
    )
    return [
        "--touchpoints",
        str(tmp / "tp.csv"),
        "--conversions",
        str(tmp / "cv.csv"),
        "--costs",
        str(tmp / "costs.csv"),
        "-w",
        str(tmp),
    ]


def test_prints_models_side_by_side_and_coverage(tmp_path):
    res = runner.invoke(app, ["attribute", *_files(tmp_path), *NOW], env={"COLUMNS": "160"})
    assert res.exit_code == 0, res.output
    for text in (
        "Conversions credited",
        "Revenue credited",
        "ROI",
        "markov",
        "shapley",
        "Attribution coverage",
        "1 conversion(s) in scope",
    ):
        assert text in res.output


def test_writes_csv_and_parquet(tmp_path):
    args = [*_files(tmp_path), *NOW, "--models", "first_touch,linear", "--by", "campaign"]
    for name in ("out.csv", "out.parquet"):
        res = runner.invoke(app, ["attribute", *args, "--out", str(tmp_path / name)])
        assert res.exit_code == 0, res.output
    csv = pd.read_csv(tmp_path / "out.csv")
    pqt = pd.read_parquet(tmp_path / "out.parquet")
    assert len(csv) == len(pqt) == 4
    row = csv[(csv.model == "linear") & (csv.group == "c1")].iloc[0]
    assert row.conversions == 0.5 and f"{row.revenue:.2f}" == "50.00" and row.spend == 40.0


def test_json_output(tmp_path):
    res = runner.invoke(
        app, ["attribute", *_files(tmp_path), *NOW, "--json", "--models", "last_touch,markov"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    got = {(c["group"], c["model"]): c["conversions"] for c in data["credits"]}
    assert got[("email", "last_touch")] == 1.0
    assert data["markov"]["removal_effects"]["email"] == 1.0


def test_workspace_file_supplies_defaults(tmp_path):
    args = _files(tmp_path)
    (tmp_path / "attribution.yml").write_text(
        "by: campaign\nmodels: [first_touch]\n", encoding="utf-8"
    )
    res = runner.invoke(app, ["attribute", *args, *NOW, "--json"])
    data = json.loads(res.output)
    assert data["by"] == "campaign" and data["models"] == ["first_touch"]
    (tmp_path / "attribution.yml").write_text("by: campaign\nmodles: [x]\n", encoding="utf-8")
    res = runner.invoke(app, ["attribute", *args, *NOW])
    assert res.exit_code == 1
    assert "attribution.yml:2" in res.output


def test_user_errors_exit_non_zero(tmp_path):
    args = _files(tmp_path)
    (tmp_path / "tp.csv").write_text("person_id,ts\np1,not-a-time\n", encoding="utf-8")
    res = runner.invoke(app, ["attribute", *args, *NOW])
    assert res.exit_code == 1 and "tp.csv:2 ts" in res.output
    res = runner.invoke(app, ["attribute", *_files(tmp_path), "--by", "planet", *NOW])
    assert res.exit_code == 1 and "--by" in res.output
    res = runner.invoke(app, ["attribute", "-w", str(tmp_path), *NOW])
    assert res.exit_code == 1 and "no input files" in res.output


def test_validate_checks_attribution_sources(workspace_dir):
    from marketops.workspace import validate_workspace

    assert not [p for p in validate_workspace(workspace_dir) if "attribution" in p.where]
    (workspace_dir / "attribution.yml").write_text(
        "by: channel\nsources:\n  touchpoints: data/none.csv\n", encoding="utf-8"
    )
    problems = [p for p in validate_workspace(workspace_dir) if "attribution" in p.where]
    assert [p.where.rsplit("/", 1)[-1] for p in problems] == ["attribution.yml:3"]


def test_empty_scope_says_why(tmp_path):
    args = _files(tmp_path)
    res = runner.invoke(app, ["attribute", *args, "--kinds", "renewal", *NOW])
    assert res.exit_code == 0, res.output
    assert "0 conversion(s) in scope" in res.output and "no conversions in scope" in res.output
