"""`marketops lead move|why|history|activity`, `accounts import|list` and `sla tick`."""

import json
from datetime import UTC, datetime

from typer.testing import CliRunner

from marketops.cli import app
from marketops.services.context import AppContext
from marketops.services.leads import capture_one
from marketops.workspace import Workspace

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_lead_commands(workspace_dir, monkeypatch) -> None:
    monkeypatch.delenv("MARKETOPS_DATABASE_URL", raising=False)
    w = str(workspace_dir)
    accounts = workspace_dir / "crm.csv"
    accounts.write_text("account_id,name,domain,owner\nA-9,Initech LLC,,dan.ae\n")
    r = run("accounts", "import", str(accounts), "-w", w)
    assert r.exit_code == 0 and "1 new" in r.output, r.output
    listed = json.loads(run("accounts", "list", "-w", w, "--json").output)
    assert {a["id"] for a in listed} == {"A-9"}

    ctx = AppContext.open(Workspace.load(workspace_dir))
    _, body = capture_one(
        ctx,
        {
            "email": "pat@initech.example",
            "company": "Initech",
            "title": "CEO",
            "activity": "demo_request",
        },
        datetime.now(UTC),
    )
    ctx.close()
    lead = body["id"]
    assert body["assignment"]["owner"] == "dan.ae"  # fuzzy/exact company name -> account owner

    r = run("lead", "why", lead, "-w", w)
    assert r.exit_code == 0 and "account A-9 (Initech LLC) matched on company name" in r.output
    r = run("lead", "activity", lead, "meeting", "--by", "dan.ae", "-w", w)
    assert r.exit_code == 0 and "stopped: mql-first-contact" in r.output, r.output
    r = run("lead", "move", lead, "Customer", "--by", "dan.ae", "-w", w)
    assert r.exit_code == 1 and "not allowed" in r.output
    r = run("lead", "move", lead, "Nurture", "--by", "dan.ae", "--reason", "timing", "-w", w)
    assert r.exit_code == 0 and "MQL -> Nurture (backward)" in r.output
    h = json.loads(run("lead", "history", lead, "-w", w, "--json").output)
    assert [t["to"] for t in h["transitions"]] == ["MQL", "Nurture"]
    r = run("lead", "history", lead, "-w", w)
    assert r.exit_code == 0 and "Time in stage" in r.output
    r = run("sla", "tick", "-w", w)
    assert r.exit_code == 0 and "timer(s) handled" in r.output


def test_worker_runs_the_sla_job(workspace_dir, monkeypatch) -> None:
    from datetime import timedelta

    from sqlalchemy import select

    from marketops.store.tables_lifecycle import sla_timers

    monkeypatch.delenv("MARKETOPS_DATABASE_URL", raising=False)
    ctx = AppContext.open(Workspace.load(workspace_dir))
    long_ago = datetime.now(UTC) - timedelta(days=40)  # the worker was down for weeks
    capture_one(
        ctx,
        {
            "email": "old@acme.example",
            "title": "CEO",
            "activity": "demo_request",
            "message": "pricing",
        },
        long_ago,
    )
    listed = run("worker", "--list", "-w", str(workspace_dir))
    assert "lifecycle.sla_timers" in listed.output
    r = run("worker", "--once", "-j", "lifecycle.sla_timers", "-w", str(workspace_dir))
    assert r.exit_code == 0, r.output
    with ctx.engine.connect() as conn:
        statuses = sorted(conn.execute(select(sla_timers.c.action, sla_timers.c.status)).all())
    ctx.close()
    assert statuses == [("escalate", "fired"), ("notify", "fired")]
