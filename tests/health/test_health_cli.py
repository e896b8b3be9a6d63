"""`marketops health` through Typer's runner: a file, the store, --json, --history, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from health_helpers import write_csv
from typer.testing import CliRunner

from marketops.cli import app

runner = CliRunner()


@pytest.fixture
def ws(workspace_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MARKETOPS_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    return workspace_dir


def test_file_json_then_history(ws: Path, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "batch.csv")
    args = ["health", "-w", str(ws), "--file", str(data), "--now", "2026-11-25T00:00:00Z"]
    res = runner.invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["rows"] == 6 and out["source"] == "batch.csv"
    assert out["breaches"] == ["completeness", "validity"]
    scores = {d["dimension"]: d["score"] for d in out["dimensions"]}
    assert scores["validity"] == 0.75

    res = runner.invoke(app, [*args, "--fail-on-breach"])
    assert res.exit_code == 2
    assert "BREACH" in res.output and "validity" in res.output

    res = runner.invoke(app, ["health", "-w", str(ws), "--history", "--json"])
    runs = json.loads(res.output)
    assert [r["source"] for r in runs] == ["batch.csv", "batch.csv"]
    res = runner.invoke(app, ["health", "-w", str(ws), "--history", "--field", "validity:email"])
    assert res.exit_code == 0 and "60.00%" in res.output


def test_empty_store_and_user_errors(ws: Path, tmp_path: Path) -> None:
    res = runner.invoke(app, ["health", "-w", str(ws), "--json", "--no-save"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["rows"] == 0 and all(d["score"] is None for d in out["dimensions"])
    res = runner.invoke(app, ["health", "-w", str(ws), "--file", str(tmp_path / "nope.csv")])
    assert res.exit_code == 1 and "file not found" in res.output
    res = runner.invoke(app, ["health", "-w", str(ws), "--history", "--field", "email"])
    assert res.exit_code == 1 and "DIMENSION:FIELD" in res.output
