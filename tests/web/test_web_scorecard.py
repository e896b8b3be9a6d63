"""The weekly scorecard: schedule rule, self-contained HTML, CLI, and the outbox job (both stores)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from marketops.cli import app
from marketops.reports.config import ScorecardSchedule
from marketops.reports.jobs import scorecard_tick
from marketops.reports.scorecard import build_scorecard, scorecard_period
from marketops.services.leads import capture_one
from marketops.store.tables_notify import outbox
from marketops.store.tables_web import report_runs

WED = datetime(2026, 11, 18, 12, tzinfo=UTC)


def test_period_is_due_from_the_local_send_time_until_the_week_ends() -> None:
    s = ScorecardSchedule(weekday="monday", hour=8, timezone="Europe/Berlin")
    mon_0659_utc = datetime(2026, 11, 16, 6, 59, tzinfo=UTC)  # 07:59 in Berlin (CET, UTC+1)
    assert scorecard_period(mon_0659_utc, s, "UTC") is None
    assert scorecard_period(mon_0659_utc + timedelta(minutes=1), s, "UTC") == "2026-W47"
    assert scorecard_period(WED, s, "UTC") == "2026-W47"  # catch-up after downtime
    # Sunday 23:30 UTC is already Monday in Berlin, before 08:00: the new week is not due yet
    assert scorecard_period(datetime(2026, 11, 22, 23, 30, tzinfo=UTC), s, "UTC") is None
    friday = ScorecardSchedule(weekday="friday", hour=17)
    assert scorecard_period(WED, friday, "America/New_York") is None


def _seed(ctx) -> None:
    capture_one(
        ctx,
        {"email": "vp@initech.example", "title": "VP Marketing", "activity": "demo_request"},
        WED - timedelta(days=1),
    )
    capture_one(ctx, {"email": "no-at-sign", "activity": "form_fill"}, WED)


def test_scorecard_is_self_contained(ctx) -> None:
    _seed(ctx)
    html = build_scorecard(ctx, WED)
    assert html.startswith("<!doctype html>")
    assert "<script" not in html.lower()
    # nothing fetched: no external stylesheet, image or font
    assert not re.search(r"""(src|href)=["'](?!data:|#)""", html)
    assert html.count("<svg") >= 4 and 'class="mark"' in html
    assert "week of 16 Nov 2026" in html


def _configure(root: Path, channel: str = "email") -> None:
    (root / "reports.yml").write_text(
        "scorecard:\n"
        "  recipients: [leadership@example.com, cmo@example.com]\n"
        f"  channel: {channel}\n"
        "  weekday: monday\n  hour: 8\n  timezone: UTC\n"
    )


def test_tick_enqueues_each_recipient_once_per_week(ctx) -> None:
    _seed(ctx)
    _configure(ctx.workspace.root)  # the example workspace names no recipients
    assert scorecard_tick(ctx, datetime(2026, 11, 16, 7, 59, tzinfo=UTC)) == 0  # not yet due
    assert scorecard_tick(ctx, WED) == 2
    assert scorecard_tick(ctx, WED + timedelta(hours=1)) == 0  # same week: nothing new
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(outbox).order_by(outbox.c.destination)).all()
        runs = conn.scalar(select(func.count()).select_from(report_runs))
    assert runs == 1
    assert [(r.channel, r.destination, r.idempotency_key) for r in rows] == [
        ("email", "cmo@example.com", "scorecard:2026-W47:cmo@example.com"),
        ("email", "leadership@example.com", "scorecard:2026-W47:leadership@example.com"),
    ]
    assert "2026-W47" in rows[0].subject
    assert rows[0].payload["html"].startswith("<!doctype html>")
    assert "Lead velocity rate" in rows[0].payload["text"]
    assert scorecard_tick(ctx, WED + timedelta(days=7)) == 2  # next week


def test_cli_writes_the_file_and_manages_users(workspace_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "scorecard.html"
    res = runner.invoke(
        app,
        [
            "report",
            "scorecard",
            "-w",
            str(workspace_dir),
            "--out",
            str(out),
            "--now",
            "2026-11-18T12:00:00Z",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "<svg" in out.read_text()
    res = runner.invoke(
        app, ["report", "scorecard", "-w", str(workspace_dir), "--now", "2026-11-18"]
    )
    assert res.exit_code == 1 and "time zone" in res.output
    res = runner.invoke(
        app,
        ["users", "create", "ada", "--password-stdin", "-w", str(workspace_dir)],
        input="a long passphrase\n",
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        app,
        ["users", "create", "ada", "--password-stdin", "-w", str(workspace_dir)],
        input="a long passphrase\n",
    )
    assert res.exit_code == 1 and "already exists" in res.output
    res = runner.invoke(app, ["users", "list", "-w", str(workspace_dir)])
    assert res.exit_code == 0 and "ada" in res.output and "scrypt" not in res.output


def test_the_worker_runs_the_scorecard_job() -> None:
    from marketops.worker.jobs import registered_jobs

    job = registered_jobs()["reports.scorecard"]
    assert job.fn is scorecard_tick and job.interval_s <= 3600
