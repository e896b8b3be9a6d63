"""The tick's batched rounds (`run_people`) give what running each person alone gives: alone
through the same code (`run_enrolment`) and alone through the per-person walk (`cohorts=False`),
which is what the cohorts of a straight journey must reproduce."""

from __future__ import annotations

from typing import Any

import pytest
from journeys_helpers import Clock, lead, write_journey
from sqlalchemy import Connection, select

from marketops.journeys import service
from marketops.journeys.runner import _claim, run_enrolment, run_people, step_tick
from marketops.journeys.triggers import entry_tick
from marketops.journeys.versions import Definitions, publish
from marketops.store.schema import leads
from marketops.store.tables_messaging import email_sends
from marketops.store.tables_notify import outbox

MIX = {
    "entry": {"event": "go"},
    "steps": [
        {"id": "hello", "send_email": {"template": "welcome"}},
        {"id": "hook", "webhook": {"url": "https://hooks.example/mix", "payload": {"k": 1}}},
        {"id": "tell", "notify_owner": {"message": "a lead to look at"}},
        {"id": "mark", "update_field": {"field": "nurtured", "value": True}},
        {"id": "more", "send_email": {"template": "nurture_1"}},
    ],
}


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKETOPS_SECRET_KEY", "test-unsubscribe-key-0123456789abcdef")


def _snapshot(conn: Connection, outcomes: list[Any]) -> tuple[Any, ...]:
    """Step records, enrolment values, decisions and messages, store-made ids as their keys."""
    keys = {r.id: r.idempotency_key for r in conn.execute(select(outbox))}

    def named(result: dict[str, Any]) -> dict[str, Any]:
        return {k: keys[v] if k in ("delivery_id", "outbox_id") else v for k, v in result.items()}

    steps = [[(r["step"], r["outcome"], named(r["result"])) for r in rs] for rs, _ in outcomes]
    states = [st for _, st in outcomes]
    sends = sorted(
        (r.ref, r.status, r.reason, r.retry_at, keys.get(r.delivery_id), r.attempts)
        for r in conn.execute(select(email_sends))
    )
    messages = sorted(
        (r.idempotency_key, r.channel, r.destination, r.subject, r.payload["lead_id"])
        for r in conn.execute(select(outbox))
    )
    attrs = sorted(tuple(r) for r in conn.execute(select(leads.c.id, leads.c.attributes)))
    return steps, states, sends, messages, attrs


def test_batched_rounds_equal_one_person_at_a_time(ctx) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()  # 15:00 UTC: night in Tokyo
    write_journey(ctx.workspace.root, "mix", MIX)
    publish(ctx, "mix", now=clock())
    people = [
        lead(
            ctx,
            "owned@m.example",
            clock(),
            consent_email="true",
            title="CEO",
            activity="demo_request",
        ),
        lead(ctx, "plain@m.example", clock(), consent_email="true"),
        lead(ctx, "off@m.example", clock(), consent_email="false"),
        lead(ctx, "silent@m.example", clock()),
        lead(ctx, "tokyo@m.example", clock(), consent_email="true", timezone="Asia/Tokyo"),
    ]
    for lid in people:
        service.post_event(ctx, "mix", lead_id=lid, event="go", now=clock(), key=lid)
    entry_tick(ctx, clock())
    with ctx.engine.connect() as conn:
        with conn.begin() as tx:
            due = sorted(_claim(conn, clock(), 100)[0], key=lambda e: (e.lead_id, e.id))
            defs = Definitions(conn)
            rows = {r.id: dict(r._mapping) for r in conn.execute(select(leads))}
            batch = [(e, defs(e.journey, e.version), rows[e.lead_id]) for e in due]
            together = _snapshot(conn, run_people(conn, ctx, batch, clock()))
            tx.rollback()
        with conn.begin() as tx:
            rows = {r.id: dict(r._mapping) for r in conn.execute(select(leads))}
            alone = _snapshot(
                conn,
                [
                    run_enrolment(
                        conn, ctx, e, defs(e.journey, e.version), rows[e.lead_id], clock()
                    )
                    for e in due
                ],
            )
            tx.rollback()
        with conn.begin():
            rows = {r.id: dict(r._mapping) for r in conn.execute(select(leads))}
            walked = _snapshot(conn, _walked(conn, ctx, defs, rows, due, clock()))
    assert len(due) == 5
    assert together == alone == walked
    outcomes = {tuple(o for _, o, _ in rs) for rs in together[0]}
    # the cases the batch mixed: sent twice, skipped sends (consent off, no consent), a
    # deferral at the first step (Tokyo's night), an owner and no owner
    assert ("sent", "done", "done", "done", "sent") in outcomes
    assert ("skipped", "done", "skipped", "done", "skipped") in outcomes
    assert () in outcomes


def _walked(conn: Connection, ctx: Any, defs: Any, rows: Any, due: list[Any], now: Any) -> Any:
    """Each person alone through the per-person walk (no cohorts)."""
    return [
        run_people(
            conn, ctx, [(e, defs(e.journey, e.version), rows[e.lead_id])], now, cohorts=False
        )[0]
        for e in due
    ]


NURTURE = {
    "entry": {"event": "go"},
    "steps": [
        {"id": "first", "send_email": {"template": "nurture_1"}},
        {"id": "pause", "wait": {"delay": "2d"}},
        {"id": "second", "send_email": {"template": "nurture_2"}},
        {"id": "hook", "webhook": {"url": "https://hooks.example/n"}},
        {"id": "again", "wait": {"delay": "1d"}},
        {"id": "bye", "exit": {"reason": "done with the nurture"}},
    ],
}


def test_cohorts_equal_per_person_walks_through_waits_and_deferrals(ctx) -> None:  # type: ignore[no-untyped-def]
    """Several people share each cohort (same step, same state); one is deferred by quiet hours
    at each send, the others go on: at every instant the batch with cohorts writes what each
    person walked alone writes, and the state carried to the next instant is the same."""
    clock = Clock()  # 15:00 UTC: night in Tokyo
    write_journey(ctx.workspace.root, "nur", NURTURE)
    publish(ctx, "nur", now=clock())
    people = [lead(ctx, f"p{i}@n.example", clock(), consent_email="true") for i in range(4)]
    people.append(lead(ctx, "no@n.example", clock(), consent_email="false"))
    people.append(
        lead(ctx, "tokyo@n.example", clock(), consent_email="true", timezone="Asia/Tokyo")
    )
    for lid in people:
        service.post_event(ctx, "nur", lead_id=lid, event="go", now=clock(), key=lid)
    entry_tick(ctx, clock())
    seen = []
    for hours in (0, 48, 72):
        now = clock.advance(hours=hours) if hours else clock()
        with ctx.engine.connect() as conn:
            with conn.begin() as tx:
                due = sorted(_claim(conn, now, 100)[0], key=lambda e: (e.lead_id, e.id))
                defs = Definitions(conn)
                rows = {r.id: dict(r._mapping) for r in conn.execute(select(leads))}
                batch = [(e, defs(e.journey, e.version), rows[e.lead_id]) for e in due]
                together = _snapshot(conn, run_people(conn, ctx, batch, now))
                tx.rollback()
            with conn.begin():
                rows = {r.id: dict(r._mapping) for r in conn.execute(select(leads))}
                walked = _snapshot(conn, _walked(conn, ctx, defs, rows, due, now))
        assert together == walked
        seen.append({tuple(o for _, o, _ in rs) for rs in together[0]})
        step_tick(ctx, now)  # the real tick carries everyone on to the next instant
    assert ("sent",) in seen[0] and ("skipped",) in seen[0] and () in seen[0]  # () Tokyo
    assert ("waited", "sent", "done") in seen[1] and ("waited", "skipped", "done") in seen[1]
    assert ("waited", "exit") in seen[2]
