"""`marketops request|launch|intake …` through the real CLI app on the example workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from intake_assets import BAD_HTML, GOOD_HTML
from typer.testing import CliRunner

from marketops.cli import app

runner = CliRunner()


@pytest.fixture
def ws(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("MARKETOPS_DATABASE_URL", raising=False)
    monkeypatch.setenv("MARKETOPS_WORKSPACE", str(workspace_dir))
    return workspace_dir


def run(*args: str):
    return runner.invoke(app, list(args))


def as_json(*args: str):
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_request_commands(ws: Path) -> None:
    r = as_json(
        "request",
        "new",
        "-t",
        "add-field",
        "--title",
        "Add lead source detail",
        "--requester",
        "pat@example.com",
        "-i",
        "object=lead",
        "-i",
        "field_name=lsd",
        "-i",
        "purpose=reporting",
        "-p",
        "impact=5",
        "-p",
        "effort=1",
        "--actor",
        "pat",
    )
    rid = str(r["id"])
    assert r["priority"] == 15.0 and r["channel"] == "cli"
    assert as_json("request", "move", rid, "triaged", "--note", "clear")["state"] == "triaged"
    assert as_json("request", "pause", rid, "--reason", "awaiting_approval")["state"] == (
        "awaiting_approval"
    )
    assert as_json("request", "resume", rid)["state"] == "triaged"
    refused = run("request", "move", rid, "done")
    assert refused.exit_code == 2 and "cannot move from triaged to done" in refused.output
    shown = run("request", "show", rid)
    assert shown.exit_code == 0 and "time to triage" in shown.output
    assert [x["id"] for x in as_json("request", "list", "--open")] == [r["id"]]
    bad = run("request", "new", "-t", "nope", "--title", "x", "--requester", "y")
    assert bad.exit_code == 1 and "no request type 'nope'" in bad.output


def test_launch_commands_and_gate(ws: Path, tmp_path: Path) -> None:
    bad = tmp_path / "nov.html"
    bad.write_text(BAD_HTML)
    v = as_json(
        "launch",
        "schedule",
        "--name",
        "Nov",
        "--train",
        "web",
        "--asset",
        str(bad),
        "--after",
        "2026-11-02T08:00",
    )
    assert v["launch_at"] == "2026-11-03T15:00:00+00:00"  # Tue 10:00 New York
    lid = str(v["id"])
    check = run("launch", "check", lid)
    assert check.exit_code == 2 and "CANNOT SHIP" in check.output
    ship = run("launch", "ship", lid)
    assert ship.exit_code == 2 and "pre-flight blocker" in ship.output
    frozen = run("launch", "schedule", "--name", "promo", "--at", "2026-12-24T10:00")
    assert frozen.exit_code == 2 and "freeze" in frozen.output
    ok = as_json(
        "launch",
        "schedule",
        "--name",
        "promo",
        "--at",
        "2026-12-24T10:00",
        "--override-reason",
        "legal deadline",
        "--actor",
        "alex",
    )
    assert ok["audit"][0]["actor"] == "alex" and ok["freeze"]["overridden"]
    good = tmp_path / "good.html"
    good.write_text(GOOD_HTML)
    fine = as_json("launch", "schedule", "--name", "Fine", "--train", "web", "--asset", str(good))
    assert run("launch", "check", str(fine["id"])).exit_code == 0
    listed = as_json("launch", "list", "--state", "scheduled")
    assert sorted(x["name"] for x in listed) == ["Fine", "Nov", "promo"]
    assert as_json("launch", "cancel", lid)["state"] == "cancelled"
    assert run("launch", "cancel", lid).exit_code == 2


def test_metrics_and_experiment_log(ws: Path) -> None:
    assert (
        run(
            "intake",
            "log-experiment",
            "hero",
            "--concluded-on",
            "2026-11-05",
            "--required-per-arm",
            "1000",
            "--units",
            "1200,1100",
            "--cost",
            "250.50",
        ).exit_code
        == 0
    )
    m = as_json(
        "intake",
        "metrics",
        "--since",
        "2026-10-01",
        "--until",
        "2026-12-01",
        "--experiment-shared-cost",
        "749.50",
    )
    assert m["experiments"]["per_month_meeting_power"] == {"2026-11": 1}
    assert m["experiments"]["cost_per_experiment"] == "1000.00"
    table = run("intake", "metrics", "--since", "2026-10-01", "--until", "2026-12-01")
    assert table.exit_code == 0 and "SLA adherence" in table.output
    bad = run(
        "intake",
        "log-experiment",
        "x",
        "--concluded-on",
        "soon",
        "--required-per-arm",
        "1",
        "--units",
        "1,1",
    )
    assert bad.exit_code == 1
