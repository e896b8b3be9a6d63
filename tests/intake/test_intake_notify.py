"""Request notifications go to the outbox with the move; the SLA-breach job alerts once."""

from __future__ import annotations

from pathlib import Path

from intake_cases import utc
from sqlalchemy import select

from marketops.ops.intake.jobs import sla_breach_tick
from marketops.ops.intake.requests import NewRequest
from marketops.ops.intake.service import create_request, move_request
from marketops.store.tables_notify import outbox
from marketops.worker.jobs import registered_jobs

NOTIFY = """
notify:
  requester: [waiting_on_requester, done]
  team: {channel: slack, destination: mops-slack, when: [created, cancelled]}
"""
FIELD = {"object": "lead", "field_name": "lsd", "purpose": "reporting"}


def rows(ctx) -> list[dict]:
    with ctx.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(outbox).order_by(outbox.c.id)).mappings()]


def test_moves_enqueue_notifications_and_breaches_alert_once(ctx, workspace_dir: Path) -> None:
    catalog = workspace_dir / "catalog.yml"
    catalog.write_text(catalog.read_text() + NOTIFY)
    t0 = utc(2026, 11, 2, 14)  # Mon 09:00 New York
    new = NewRequest(
        type="add-field", title="Add a field", requester="pat@example.com", inputs=FIELD
    )
    rid = create_request(ctx, new, now=t0, actor="pat")[0]["id"]
    other = create_request(
        ctx,
        NewRequest(type="add-field", title="By name", requester="Pat Lee", inputs=FIELD),
        now=t0,
        actor="pat",
    )[0]["id"]
    move_request(ctx, rid, "waiting_on_requester", actor="ops", now=t0)
    move_request(ctx, other, "waiting_on_requester", actor="ops", now=t0)  # not an email: none
    move_request(ctx, rid, "cancelled", actor="ops", now=t0)
    sent = [(r["channel"], r["destination"], r["payload"]["event"]) for r in rows(ctx)]
    assert sent == [
        ("slack", "mops-slack", "request.created"),
        ("slack", "mops-slack", "request.created"),
        ("email", "pat@example.com", "request.waiting_on_requester"),
        ("slack", "mops-slack", "request.cancelled"),
    ]
    assert "pat@example.com" not in str(rows(ctx)[2]["payload"])  # the address is the envelope

    # `other` is paused, so its clocks stand still; a third request breaches triage at 13:00
    third = create_request(ctx, new, now=t0, actor="pat")[0]["id"]
    assert sla_breach_tick(ctx, utc(2026, 11, 2, 17)) == 0  # 12:00: nothing breached yet
    assert sla_breach_tick(ctx, utc(2026, 11, 2, 19)) == 1  # 14:00: time to triage (4h)
    assert sla_breach_tick(ctx, utc(2026, 11, 2, 20)) == 0  # already alerted
    assert sla_breach_tick(ctx, utc(2026, 11, 4, 16)) == 1  # Wed 11:00: time to done (16h)
    alerts = [r for r in rows(ctx) if r["payload"]["event"] == "request.sla_breached"]
    assert [(a["payload"]["request_id"], a["payload"]["goal"]) for a in alerts] == [
        (third, "time to triage"),
        (third, "time to done"),
    ]
    assert alerts[0]["payload"]["breach_at"] == "2026-11-02T18:00:00+00:00"
    assert "intake-sla-breaches" in registered_jobs()
