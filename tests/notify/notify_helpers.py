"""Helpers for the notification tests: workspace config, a real SMTP server, draining the outbox."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from aiosmtpd.controller import Controller

from marketops.notify import NOTIFICATIONS_FILE
from marketops.notify.config import NotificationsFile
from marketops.notify.delivery import deliver_due
from marketops.notify.outbox import counts
from marketops.testing.pgserver import free_port

SECRET = "test-signing-secret"
ENV = {"MARKETOPS_WEBHOOK_SECRET": SECRET}


def fast_config(**overrides: Any) -> dict[str, Any]:
    """A notifications.yml body with millisecond backoff so retries happen within a test."""
    cfg: dict[str, Any] = {
        "retry": {"max_attempts": 6, "base_delay_s": 0.01, "max_delay_s": 0.05},
        "delivery": {"timeout_s": 0.5, "batch_size": 50, "concurrency": 4, "lease_s": 30},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key] = {**cfg[key], **value}
        else:
            cfg[key] = value
    return cfg


def write_config(workspace: Path, **overrides: Any) -> NotificationsFile:
    data = fast_config(**overrides)
    (workspace / NOTIFICATIONS_FILE).write_text(yaml.safe_dump(data, sort_keys=False))
    return NotificationsFile.model_validate(data)


def drain(engine, cfg: NotificationsFile, *, env=None, worker="w1", timeout_s=30.0, **kw):  # type: ignore[no-untyped-def]
    """Tick until nothing is pending (retries included); returns the final counts."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        deliver_due(
            engine, cfg, now=datetime.now(UTC), worker=worker, env=ENV if env is None else env, **kw
        )
        with engine.connect() as conn:
            c = counts(conn)
        if c["pending"] == 0:
            return c
        time.sleep(0.01)
    raise AssertionError(f"outbox not drained in {timeout_s} s: {c}")


class SmtpSink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it accepts."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self.messages: list[Any] = []
        self.logins: list[str] = []
        self.fail_next = 0  # answer 451 (try again later) to this many messages
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
                if sink.fail_next > 0:
                    sink.fail_next -= 1
                    return "451 4.3.0 try again later"
                sink.messages.append(envelope)
                return "250 OK"

        def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
            from aiosmtpd.smtp import AuthResult, LoginPassword

            ok = (
                isinstance(auth_data, LoginPassword)
                and credentials is not None
                and (auth_data.login.decode(), auth_data.password.decode()) == credentials
            )
            if ok:
                sink.logins.append(auth_data.login.decode())
            return AuthResult(success=ok)

        self.port = free_port()
        extra: dict[str, Any] = {}
        if credentials is not None:
            # plain-text AUTH is allowed here only because the server is on 127.0.0.1 in a test
            extra = {"authenticator": authenticator, "auth_require_tls": False}
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **extra)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
