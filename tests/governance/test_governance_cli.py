"""`marketops plan / apply / versions / rollback` end to end on a SQLite workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from governance_helpers import T0, seed
from typer.testing import CliRunner

from marketops.cli import app
from marketops.services.context import AppContext
from marketops.workspace import Workspace


@pytest.fixture
def ws(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("MARKETOPS_DATABASE_URL", raising=False)
    ctx = AppContext.open(Workspace.load(workspace_dir))
    seed(
        ctx.engine,
        [
            {"id": "a1", "email": "ann@acme.example", "title": "VP Sales",
             "acts": [("demo_request", T0, "pricing please")]},
        ],
    )  # fmt: skip
    ctx.close()
    return workspace_dir


def test_cli_plan_apply_versions_rollback(ws: Path, tmp_path: Path) -> None:
    run = CliRunner().invoke
    r = run(app, ["apply", "--who", "ana", "--why", "baseline", "-w", str(ws)])
    assert r.exit_code == 1 and "marketops plan" in r.output
    r = run(app, ["plan", "-w", str(ws), "--since", "all", "--no-diff"])
    assert r.exit_code == 0, r.output
    assert "live: none yet" in r.output and "added" in r.output
    r = run(app, ["apply", "--who", "ana", "--why", "baseline", "-w", str(ws)])
    assert r.exit_code == 0 and "v1 is live" in r.output

    scoring = ws / "scoring.yml"
    scoring.write_text(scoring.read_text().replace("mql_threshold: 60", "mql_threshold: 70"))
    outcomes = tmp_path / "deals.csv"
    outcomes.write_text("email,won,amount\nann@acme.example,true,5000\n")
    r = run(
        app,
        ["plan", "-w", str(ws), "--since", "all", "--outcomes", str(outcomes), "--json"],
    )
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert report["backtest"]["mql"]["lost"] == 1
    assert report["backtest"]["outcomes"]["won_losing_mql_revenue"] == "5000"
    r = run(app, ["plan", "-w", str(ws), "--since", "2025-12-01", "--outcomes", str(outcomes)])
    assert r.exit_code == 0, r.output
    assert "+mql_threshold: 70" in r.output and "would lose MQL status" in r.output
    r = run(app, ["apply", "--who", "ana", "--why", "stricter", "-w", str(ws)])
    assert r.exit_code == 0 and "v2 is live" in r.output

    r = run(app, ["versions", "-w", str(ws)])
    assert r.exit_code == 0 and "v2 (live)" in r.output and "stricter" in r.output
    r = run(app, ["versions", "2", "-w", str(ws)])
    assert "-mql_threshold: 60" in r.output
    r = run(app, ["rollback", "1", "--who", "bo", "--why", "undo", "-w", str(ws)])
    assert r.exit_code == 0 and "files of v1" in r.output
    assert "mql_threshold: 60" in scoring.read_text()
    r = run(app, ["rollback", "7", "--who", "bo", "--why", "undo", "-w", str(ws)])
    assert r.exit_code == 1 and "no workspace version 7" in r.output
    bad = tmp_path / "bad.csv"
    bad.write_text("who,what\n1,2\n")
    r = run(app, ["plan", "-w", str(ws), "--outcomes", str(bad)])
    assert r.exit_code == 1 and "lead_id" in r.output
