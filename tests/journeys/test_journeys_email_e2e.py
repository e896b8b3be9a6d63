"""A nurture copied from the built-in template runs end to end against a real SMTP server:
list entry -> emails over SMTP through the outbox, quiet hours defer a step to the contact's
morning, an exit goal stops the emails. Time is a clock handed to the worker runner."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path

import pytest
from journeys_helpers import Clock, duplicated_steps, enrolment, lead
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent.parent / "notify"))
from notify_helpers import SmtpSink, write_config

from marketops.cli import app
from marketops.lifecycle.service import move_lead
from marketops.segments.service import add_to_list
from marketops.worker.runner import run_worker, select_jobs

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Monday: 09:00 in Chicago, 00:00 in Tokyo


@pytest.fixture
def smtp(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MARKETOPS_SECRET_KEY", "journey-test-key-0123456789abcdef")
    with SmtpSink() as sink:
        write_config(workspace_dir, smtp={"host": "127.0.0.1", "port": sink.port})
        yield sink


def _tick(ctx, clock) -> None:
    jobs = select_jobs(["journeys.entries", "journeys.steps", "outbox"])
    run_worker(ctx, jobs=jobs, clock=clock, once=True)
    run_worker(ctx, jobs=jobs, clock=clock, once=True)  # outbox rows the steps just wrote


def _subjects(sink: SmtpSink) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for env in sink.messages:
        msg = message_from_bytes(env.content)
        out.setdefault(env.rcpt_tos[0], []).append(msg["Subject"])
    return out


def test_nurture_from_template_over_smtp(smtp, ctx) -> None:
    root = ctx.workspace.root
    runner = CliRunner()
    res = runner.invoke(
        app, ["journey", "new", "spring", "--from", "nurture", "--set", "gap=1d", "-w", str(root)]
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["journey", "templates", "-w", str(root), "--json"])
    assert '"used_by": 1' in res.output
    clock = Clock(T0)
    from marketops.journeys.versions import publish

    assert publish(ctx, "spring", now=clock())["version"] == 1
    chi = lead(ctx, "chi@acme.example", clock(), first_name="Ana", consent_email=True, country="US")
    tok = lead(
        ctx, "tok@acme.example", clock(), consent_email=True, timezone="Asia/Tokyo", country="JP"
    )
    sql = lead(ctx, "sql@acme.example", clock(), consent_email=True, country="US")
    nope = lead(ctx, "nope@acme.example", clock(), consent_email=False, country="US")
    with ctx.engine.begin() as conn:
        add_to_list(conn, "webinar-2026-attendees", [chi, tok, sql, nope], clock(), source="test")
    _tick(ctx, clock)
    got = _subjects(smtp)
    assert got == {
        "chi@acme.example": ["Part 1: three reports to automate, Ana"],
        "sql@acme.example": ["Part 1: three reports to automate, friend"],
    }
    # midnight in Tokyo: quiet hours (20:00-08:00) defer the step to 08:00 Tokyo = 23:00 UTC
    e = enrolment(ctx, "spring", tok)
    assert (e["step"], e["due_at"]) == ("email-1", datetime(2026, 3, 2, 23, 0, tzinfo=UTC))
    # no consent: the step is recorded as skipped and the person moves on
    assert enrolment(ctx, "spring", nope)["step"] == "wait-1"
    msg = message_from_bytes(smtp.messages[0].content)
    assert msg["List-Unsubscribe"]
    clock.now = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
    _tick(ctx, clock)
    assert len(_subjects(smtp)["tok@acme.example"]) == 1
    # `sql` becomes sales-qualified: it leaves at once and gets nothing more
    for stage in ("MQL", "SAL", "SQL"):
        move_lead(ctx, sql, stage, actor="carla", reason=None, now=clock())
    _tick(ctx, clock)
    assert enrolment(ctx, "spring", sql)["status"] == "goal"
    clock.advance(days=3)
    _tick(ctx, clock)
    clock.advance(days=3)
    _tick(ctx, clock)
    got = _subjects(smtp)
    assert [s.split(":")[0] for s in got["chi@acme.example"]] == ["Part 1", "Part 2", "Part 3"]
    assert len(got["tok@acme.example"]) == 3
    assert len(got["sql@acme.example"]) == 1
    assert "nope@acme.example" not in got
    assert enrolment(ctx, "spring", chi)["status"] == "completed"
    assert duplicated_steps(ctx) == 0
    res = runner.invoke(app, ["journey", "status", "spring", "-w", str(root), "--json"])
    assert '"completed": 3' in res.output and '"goal": 1' in res.output
