"""`marketops stack audit` through Typer's CliRunner: table, --json, --today, --strict, workspace."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from marketops.cli import app
from marketops.workspace import validate_workspace

runner = CliRunner()
TEMPLATE = Path(__file__).parents[2] / "src" / "marketops" / "workspace" / "templates" / "stack.yml"


def test_audit_json_as_of_a_date() -> None:
    res = runner.invoke(
        app, ["stack", "audit", "--file", str(TEMPLATE), "--today", "2026-11-25", "--json"]
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    tools = {t["name"]: t for t in out["tools"]}
    # Marketo: 4 of 15 seats; waste 11 x 58000/15 = 42533.33; renews 2026-12-31, 36 days away
    marketo = tools["Marketo Engage"]
    assert marketo["underused"] is True and marketo["waste"] == "42533.33"
    assert marketo["days_to_renewal"] == 36
    assert out["renewals"] == ["Marketo Engage", "HubSpot Marketing Hub"]
    assert out["overlaps"][0]["tools"] == ["HubSpot Marketing Hub", "Marketo Engage"]
    # Segment (3*5 + 2*4 + 2*5 + 1*4 + 2*3) / 10 = 4.30 tops the scorecard
    assert out["scorecard_ranking"][0] == {"name": "Segment", "score": "4.30"}
    # another day, another renewal list
    later = runner.invoke(
        app, ["stack", "audit", "-f", str(TEMPLATE), "--today", "2027-05-01", "--json"]
    )
    assert json.loads(later.output)["renewals"] == ["Hotjar"]


def test_audit_table_and_strict_exit() -> None:
    res = runner.invoke(app, ["stack", "audit", "-f", str(TEMPLATE), "--today", "2026-11-25"])
    assert res.exit_code == 0, res.output
    assert "Tool stack as of 2026-11-25" in res.output
    assert "Hotjar: integrated with nothing" in res.output
    strict = runner.invoke(app, ["stack", "audit", "-f", str(TEMPLATE), "--strict"])
    assert strict.exit_code == 1


def test_bad_date_and_bad_file() -> None:
    res = runner.invoke(app, ["stack", "audit", "-f", str(TEMPLATE), "--today", "25/11/2026"])
    assert res.exit_code == 1 and "YYYY-MM-DD" in res.output


def test_audit_from_workspace(workspace_dir: Path) -> None:
    ws = workspace_dir  # `marketops init` output, with the example stack.yml
    (ws / "stack.yml").unlink()
    res = runner.invoke(app, ["stack", "audit", "-w", str(ws)])
    assert res.exit_code == 1 and "no stack.yml" in res.output
    shutil.copy(TEMPLATE, ws / "stack.yml")
    res = runner.invoke(app, ["stack", "audit", "-w", str(ws), "--json", "--today", "2026-11-25"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["total_annual_cost"] == "135040.00"
    assert [p for p in validate_workspace(ws) if "stack.yml" in p.where] == []
    (ws / "stack.yml").write_text("tools:\n  - name: A\n    category: x\n")
    problems = [str(p) for p in validate_workspace(ws) if "stack.yml" in p.where]
    assert any(":2:" in p and "owner" in p for p in problems)
    res = runner.invoke(app, ["stack", "audit", "-w", str(ws)])
    assert res.exit_code == 1 and "stack.yml:2" in res.output
