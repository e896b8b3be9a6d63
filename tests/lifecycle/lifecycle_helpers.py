"""Helpers for lifecycle tests: capture leads at a given time, read timers and the outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from marketops.services.leads import capture_one
from marketops.store.tables_lifecycle import sla_timers
from marketops.store.tables_notify import outbox

# Friday 2026-03-06 16:30 New York (EST): the calendars doc's reference example.
FRIDAY_1630_NY = datetime.fromisoformat("2026-03-06T16:30-05:00").astimezone(UTC)


def hot_lead(email: str, **extra: Any) -> dict[str, Any]:
    """Scores past the MQL threshold and matches the `hand-raiser` rule (queue inbound-sdr)."""
    return {
        "email": email,
        "title": "CEO",
        "activity": "demo_request",
        "message": "need pricing",
        **extra,
    }


def capture(ctx, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    status, body = capture_one(ctx, payload, now)
    assert status in (200, 201), body
    return body


def timers(ctx, lead_id: str | None = None) -> list[dict[str, Any]]:
    stmt = select(sla_timers).order_by(sla_timers.c.id)
    if lead_id:
        stmt = stmt.where(sla_timers.c.lead_id == lead_id)
    with ctx.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]


def outbox_rows(ctx) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(outbox).order_by(outbox.c.id))]


def open_ctx(workspace_dir, url: str, monkeypatch):  # -> AppContext
    from marketops.services.context import AppContext
    from marketops.workspace import Workspace

    monkeypatch.setenv("MARKETOPS_DATABASE_URL", url)
    return AppContext.open(Workspace.load(workspace_dir))


def edit_yaml(path, fn) -> None:
    """Load a workspace YAML file, change it with `fn(data)`, write it back."""
    import yaml

    data = yaml.safe_load(path.read_text())
    fn(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
