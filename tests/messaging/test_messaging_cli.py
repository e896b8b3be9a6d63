"""`marketops email preview|send-test|sends` and `marketops validate`, on both stores."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import add_lead
from marketops.cli import app
from marketops.messaging.send import send_email

runner = CliRunner()


def invoke(workspace: Path, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, [*args, "-w", str(workspace)])
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture(autouse=True)
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")


def test_preview_for_a_lead_by_id_and_email(ctx, workspace_dir: Path) -> None:  # type: ignore[no-untyped-def]
    lead = add_lead(ctx, "cli@example.com", first_name="Cleo", company="Initech")
    out = invoke(workspace_dir, "email", "preview", "welcome", "--lead", lead)
    assert "Subject: Welcome to Acme, Cleo" in out and "on behalf of Initech" in out
    data = json.loads(
        invoke(
            workspace_dir,
            "email",
            "preview",
            "upsell",
            "--email",
            "CLI@example.com",
            "-p",
            "plan=Enterprise",
            "--json",
        )
    )
    assert data["subject"] == "Initech is ready for Enterprise"
    assert "Enterprise" in data["html"]
    nobody = invoke(workspace_dir, "email", "preview", "welcome")
    assert "Welcome to Acme, there" in nobody
    missing = invoke(workspace_dir, "email", "preview", "welcome", "--lead", "nope", code=1)
    assert "no lead with id nope" in missing


def test_send_test_delivers_over_smtp(ctx, smtp, workspace_dir: Path) -> None:  # type: ignore[no-untyped-def]
    out = invoke(workspace_dir, "email", "send-test", "nurture_2", "--to", "qa@acme.example")
    assert "queued as outbox delivery" in out and "status: delivered" in out
    [env] = smtp.messages
    assert env.rcpt_tos == ["qa@acme.example"]
    body = env.content.decode()
    assert "Subject: [TEST] Part 2: how teams like yours cut lead response time" in body
    assert "/u/preview" in body  # the test copy's unsubscribe link changes nobody
    bad = invoke(workspace_dir, "email", "send-test", "welcome", "--to", "nobody", code=1)
    assert "is not an email address" in bad


def test_sends_lists_decisions(ctx, workspace_dir: Path) -> None:  # type: ignore[no-untyped-def]
    yes = add_lead(ctx, "yes@example.com", consent_email="true")
    no = add_lead(ctx, "no@example.com", consent_email="false")
    now = datetime(2025, 6, 10, 12, tzinfo=UTC)
    with ctx.engine.begin() as conn:
        for lead in (yes, no):
            send_email(conn, ctx, lead_id=lead, template="welcome", ref="step-1", now=now)
    rows = json.loads(invoke(workspace_dir, "email", "sends", "--json"))
    assert {(r["lead_id"], r["status"], r["reason"]) for r in rows} == {
        (yes, "queued", None),
        (no, "skipped", "consent_withdrawn"),
    }
    table = invoke(workspace_dir, "email", "sends", "--lead", no)
    assert "consent_withdrawn" in table and yes not in table


def test_validate_reports_a_token_without_fallback(workspace_dir: Path) -> None:
    (workspace_dir / "emails" / "promo.yml").write_text(
        "subject: Hi\ntext: |\n  Dear {{ first_name }},\n"
    )
    result = runner.invoke(app, ["validate", str(workspace_dir)])
    out = result.output
    assert result.exit_code == 1, out
    assert "promo.yml:3" in out and "token `first_name` has no fallback" in out
