"""Fixtures for journey email: the signing key, a real SMTP server wired into the workspace,
leads captured through the real pipeline."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

# the SMTP sink and outbox helpers live with the notification tests
sys.path.insert(0, str(Path(__file__).parent.parent / "notify"))

from notify_helpers import SmtpSink, write_config

SECRET = "test-unsubscribe-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def secret_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MARKETOPS_SECRET_KEY", SECRET)
    return SECRET


@pytest.fixture
def smtp(workspace_dir: Path) -> Iterator[SmtpSink]:
    """A real SMTP server on 127.0.0.1; notifications.yml points the outbox at it."""
    with SmtpSink() as sink:
        write_config(workspace_dir, smtp={"host": "127.0.0.1", "port": sink.port})
        yield sink


def set_messaging(workspace: Path, **changes: Any) -> dict[str, Any]:
    """Edit messaging.yml (a nested dict per top-level key is merged)."""
    path = workspace / "messaging.yml"
    data = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return data


def add_lead(ctx: Any, email: str, **fields: Any) -> str:
    """Capture a lead through the real pipeline; returns its id."""
    from marketops.services.leads import capture_one

    status, body = capture_one(ctx, {"email": email, **fields}, datetime.now(UTC))
    assert status in (200, 201), body
    return body["id"]
