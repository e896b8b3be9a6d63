"""The journey commands end to end in one workspace: publish, list, show, enrol, status,
pause/resume/stop, simulate, and the errors a user can make (exit code 1, no traceback)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from journeys_helpers import lead, write_journey
from typer.testing import CliRunner

from marketops.cli import app

BODY = {
    "entry": {"event": "go"},
    "steps": [
        {"id": "w", "wait": {"delay": "1d"}},
        {"id": "tag", "update_field": {"field": "x", "value": 1}},
    ],
}


def test_journey_commands(ctx) -> None:
    root = str(ctx.workspace.root)
    run = CliRunner().invoke
    write_journey(ctx.workspace.root, "cli", BODY)
    lid = lead(ctx, "cli@c.example", datetime.now(UTC))

    def ok(*args: str) -> str:
        res = run(app, ["journey", *args, "-w", root])
        assert res.exit_code == 0, res.output
        return res.output

    assert "published version 1" in ok("publish", "cli")
    assert "unchanged since version 1" in ok("publish", "cli")
    listed = json.loads(ok("list", "--json"))
    assert {(j["name"], j["status"]) for j in listed} >= {("cli", "active")}
    assert "tag: update_field" in ok("show", "cli")
    assert f"{lid} entered cli" in ok("enrol", "cli", "--lead", lid)
    assert "did not enter" in ok("enrol", "cli", "--lead", lid)  # already in
    res = run(app, ["journey", "enrol", "cli", "--lead", "missing", "-w", root])
    assert res.exit_code == 1 and "no lead with id missing" in res.output
    ok("tick")
    st = json.loads(ok("status", "cli", "--json"))
    assert st["at_step"] == [{"version": 1, "step": "w", "people": 1}]
    assert "paused" in ok("pause", "cli", "--reason", "review")
    assert "active" in ok("resume", "cli")
    assert "1 enrolments ended" in ok("stop", "cli", "--reason", "done")
    sim = json.loads(ok("simulate", "cli", "--since", "2026-01-01", "--json"))
    assert sim["entered"] == 0 and sim["journey"] == "cli"
    for args, says in (
        (["publish", "nope"], "no journey 'nope'"),
        (["enrol", "cli", "--lead", lid], "resume cli"),  # stopped
        (["new", "x", "--from", "nurture", "--set", "gap"], "use key=value"),
        (["simulate", "cli", "--since", "yesterday"], "ISO 8601"),
    ):
        res = run(app, ["journey", *args, "-w", root])
        assert res.exit_code == 1 and says in res.output, res.output
