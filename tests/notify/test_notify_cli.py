"""`marketops outbox list|show|retry|replay` and `marketops worker --once`, on a real SQLite store."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import yaml
from notify_helpers import drain
from typer.testing import CliRunner

from marketops.cli import app
from marketops.errors import WorkspaceError
from marketops.notify import NOTIFICATIONS_FILE, outbox
from marketops.notify.config import NotificationsFile, load_notifications
from marketops.notify.receiver import Receiver
from marketops.notify.workspace_files import check
from marketops.services.context import AppContext
from marketops.workspace import Workspace
from marketops.workspace.yamlfile import load_model

runner = CliRunner()


def _invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_dead_letter_then_cli_replay_delivers(workspace_dir, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MARKETOPS_WEBHOOK_SECRET", "s")
    monkeypatch.setenv("COLUMNS", "200")
    rx = Receiver("s")
    rx.start()
    rx.down = True
    try:
        (workspace_dir / NOTIFICATIONS_FILE).write_text(
            yaml.safe_dump(
                {
                    "retry": {"max_attempts": 2, "base_delay_s": 0.001, "max_delay_s": 0.001},
                    "destinations": {"hook": {"type": "webhook", "url": rx.url}},
                    # nothing listens on port 9 (discard): email attempts fail to connect
                    "smtp": {"host": "127.0.0.1", "port": 9, "timeout_s": 1},
                }
            )
        )
        ctx = AppContext.open(Workspace.load(workspace_dir))
        with ctx.engine.begin() as conn:
            for key, channel, dest in (
                ("w1", "webhook", "hook"),
                ("e1", "email", "jane.doe@example.com"),
            ):
                outbox.enqueue(
                    conn,
                    channel=channel,
                    destination=dest,
                    payload={"k": key},
                    idempotency_key=key,
                    now=datetime.now(UTC),
                )
        ws = str(workspace_dir)
        _invoke("worker", "-w", ws, "--once", "--job", "outbox")
        # the second attempts (after a millisecond backoff), without another CLI start-up
        drain(ctx.engine, load_notifications(workspace_dir), env={"MARKETOPS_WEBHOOK_SECRET": "s"})
        listing = _invoke("outbox", "list", "-w", ws, "--status", "dead")
        assert "dead: 2" in listing and "jane.doe" not in listing and "j***@example.com" in listing
        data = json.loads(_invoke("outbox", "list", "-w", ws, "--json"))
        assert data["counts"] == {"pending": 0, "delivered": 0, "dead": 2}
        hook_id = next(d["id"] for d in data["deliveries"] if d["idempotency_key"] == "w1")
        shown = json.loads(_invoke("outbox", "show", str(hook_id), "-w", ws))
        assert [a["status_code"] for a in shown["attempt_log"]] == [503, 503]
        rx.down = False
        assert "1 dead letter queued again" in _invoke("outbox", "replay", str(hook_id), "-w", ws)
        _invoke("worker", "-w", ws, "--once", "--job", "outbox")
        assert list(rx.accepted) == ["w1"]
        final = json.loads(_invoke("outbox", "list", "-w", ws, "--json"))["counts"]
        assert final == {"pending": 0, "delivered": 1, "dead": 1}
        assert "0 deliveries due now" in _invoke("outbox", "retry", "--all", "-w", ws)
        bad = runner.invoke(app, ["outbox", "replay", "-w", ws])  # neither ids nor --all
        assert bad.exit_code == 2
        missing = runner.invoke(app, ["outbox", "show", "999", "-w", ws])
        assert missing.exit_code == 1 and "no delivery 999" in missing.output
        ctx.close()
    finally:
        rx.stop()


def test_bad_notifications_file_is_reported_with_file_and_line(workspace_dir) -> None:  # type: ignore[no-untyped-def]
    path = workspace_dir / NOTIFICATIONS_FILE
    path.write_text("retry:\n  max_attempts: 3\ndestinations:\n  s: {type: slack}\n")
    with pytest.raises(WorkspaceError) as exc:
        load_model(path, NotificationsFile)
    (problem,) = exc.value.problems
    assert problem.where == f"{path}:4" and "exactly one of `url`, `url_env`" in problem.message
    model = NotificationsFile.model_validate({"members": {"nobody.sdr": {"email": "n@x.example"}}})
    (unknown,) = check(workspace_dir, model)
    assert "not in any routing.yml queue" in unknown.message
    assert (
        check(workspace_dir, NotificationsFile.model_validate({"members": {"ava.sdr": {}}})) == []
    )
