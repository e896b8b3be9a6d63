"""Stopping SLA clocks when a lead leaves its stage or changes owner (`leads_repo.write_timers`).

The timers are found by lead id and cancelled by primary key (a status term let SQLite read every
pending timer of the store per batch); a clock that already fired keeps its status and result."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from marketops.services.leads import capture_one
from marketops.store import leads_repo
from marketops.store.tables_lifecycle import sla_timers

NOW = datetime(2026, 11, 2, 15, tzinfo=UTC)
HOT = {"title": "CEO", "activity": "demo_request", "message": "need pricing"}


def _timers(ctx, lead_id: str) -> list[tuple[str, dict, str | None]]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(sla_timers.c.status, sla_timers.c.result, sla_timers.c.owner)
            .where(sla_timers.c.lead_id == lead_id)
            .order_by(sla_timers.c.id)
        )
        return [tuple(r) for r in rows]


def _hot_lead(ctx, email: str) -> str:
    status, body = capture_one(ctx, {"email": email, **HOT}, NOW)
    assert status == 201 and body["assignment"]["owner"], body
    return body["id"]


def test_moved_lead_cancels_pending_clocks_only(ctx) -> None:
    lead_id, other = _hot_lead(ctx, "moved@acme.example"), _hot_lead(ctx, "other@acme.example")
    before = _timers(ctx, lead_id)
    assert len(before) >= 2 and {s for s, _, _ in before} == {"pending"}
    with ctx.engine.begin() as conn:  # the first clock already fired (an SLA tick)
        first = conn.execute(
            select(sla_timers.c.id).where(sla_timers.c.lead_id == lead_id).order_by(sla_timers.c.id)
        ).first()[0]
        conn.execute(
            update(sla_timers)
            .where(sla_timers.c.id == first)
            .values(status="fired", result={"escalated": True})
        )
    with ctx.engine.begin() as conn:
        leads_repo.write_timers(conn, {lead_id}, set(), [], [], NOW + timedelta(hours=1))
    after = _timers(ctx, lead_id)
    assert after[0][:2] == ("fired", {"escalated": True})
    assert [(s, r) for s, r, _ in after[1:]] == [
        ("cancelled", {"reason": "stage or owner changed"})
    ] * (len(after) - 1)
    assert {s for s, _, _ in _timers(ctx, other)} == {"pending"}  # another lead's clocks run on


def test_reowned_lead_cancels_only_owned_clocks(ctx) -> None:
    lead_id = _hot_lead(ctx, "reowned@acme.example")
    with ctx.engine.begin() as conn:  # a stage-only clock has no owner
        first = conn.execute(
            select(sla_timers.c.id).where(sla_timers.c.lead_id == lead_id).order_by(sla_timers.c.id)
        ).first()[0]
        conn.execute(update(sla_timers).where(sla_timers.c.id == first).values(owner=None))
    with ctx.engine.begin() as conn:
        leads_repo.write_timers(conn, set(), {lead_id}, [], [], NOW + timedelta(hours=1))
    after = _timers(ctx, lead_id)
    assert after[0][0] == "pending" and after[0][2] is None
    assert {s for s, _, o in after[1:]} == {"cancelled"}
