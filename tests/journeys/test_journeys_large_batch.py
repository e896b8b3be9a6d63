"""A batch above `store.bulk.SMALL_BATCH`: the driver reads, COPY and staged INSERT/UPDATE paths
the scheduler takes for thousands of people, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest
from journeys_helpers import T0, duplicated_steps, write_journey
from sqlalchemy import event, insert, select

from marketops.journeys.leads import NARROW
from marketops.journeys.runner import CLAIMED, _claim, step_tick
from marketops.journeys.triggers import Candidate, enrol_many, entry_tick
from marketops.journeys.versions import definition, publish
from marketops.messaging.send import message_key
from marketops.notify.outbox import enqueue
from marketops.store.db import WAL_PAGES_BULK, WAL_PAGES_DEFAULT
from marketops.store.leads_repo import lead_rows
from marketops.store.schema import leads
from marketops.store.tables_journeys import journey_enrolments, journey_step_runs
from marketops.store.tables_messaging import email_sends
from marketops.store.tables_notify import outbox

N = 120  # people: over SMALL_BATCH (50), under one claim
NURTURE = {
    "entry": {"event": "bulk"},
    "steps": [
        {"id": "hello", "send_email": {"template": "welcome"}},
        {"id": "hook", "webhook": {"url": "https://hooks.example/bulk", "payload": {"n": 1}}},
        {"id": "pause", "wait": {"delay": "1d"}},
        {"id": "more", "send_email": {"template": "nurture_1"}},
    ],
}


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKETOPS_SECRET_KEY", "test-unsubscribe-key-0123456789abcdef")


def _people(ctx) -> list[str]:  # type: ignore[no-untyped-def]
    ids = sorted(uuid.uuid4().hex for _ in range(N))
    rows = [
        dict(
            id=i,
            email=f"p{k}@bulk.example",
            first_name=f"P{k}",
            lifecycle_stage="Known",
            consent={"email": True},
            attributes={"timezone": "UTC"},
            flags={},
            warnings=[],
            created_at=T0,
            updated_at=T0,
        )
        for k, i in enumerate(ids)
    ]
    with ctx.engine.begin() as conn:
        conn.execute(insert(leads), rows)
        enrol_many(
            conn,
            "bulk",
            definition(conn, "bulk", 1),
            1,
            [Candidate(i, f"bulk:{i}") for i in ids],
            T0,
        )
    return ids


def test_a_large_batch_runs_every_step_once_with_the_right_ids(ctx) -> None:  # type: ignore[no-untyped-def]
    write_journey(ctx.workspace.root, "bulk", NURTURE)
    publish(ctx, "bulk", now=T0)
    ids = _people(ctx)
    with ctx.engine.connect() as conn:
        first = conn.execute(
            select(journey_enrolments.c.id).where(journey_enrolments.c.lead_id == ids[0])
        ).scalar_one()
    # an outbox row already holds the first person's key: theirs is that one delivery
    key = message_key(ids[0], f"journey:{first}:hello:1")
    with ctx.engine.begin() as conn:
        earlier = enqueue(
            conn,
            channel="email",
            destination="p0@bulk.example",
            payload={"lead_id": ids[0]},
            idempotency_key=key,
            now=T0,
        )

    assert step_tick(ctx, T0, limit=500) == N
    with ctx.engine.connect() as conn:
        sends = {r.lead_id: r for r in conn.execute(select(email_sends))}
        boxes = {r.id: r for r in conn.execute(select(outbox))}
        steps = conn.execute(select(journey_step_runs)).all()
        states = conn.execute(select(journey_enrolments)).all()
    assert len(sends) == N and {s.status for s in sends.values()} == {"queued"}
    assert len(boxes) == 2 * N  # one email (the earlier row for the first person) + one webhook
    assert sends[ids[0]].delivery_id == earlier
    for lead_id, s in sends.items():
        box = boxes[s.delivery_id]
        assert box.idempotency_key == message_key(lead_id, s.ref)
        assert lead_id == ids[0] or box.payload["compose"] == "email_template"
    by_step = {(r.enrolment_id, r.step): r for r in steps}
    assert len(steps) == 2 * N and len(by_step) == 2 * N
    for r in steps:
        if r.step == "hello":
            assert r.outcome == "sent" and boxes[r.result["delivery_id"]].channel == "email"
        else:
            assert r.outcome == "done" and boxes[r.result["outbox_id"]].channel == "webhook"
    day = T0 + timedelta(days=1)
    for e in states:
        assert (e.status, e.step, e.due_at, e.wait_until) == ("active", "pause", day, day)
        assert e.visits == {"hello": 1, "hook": 1} and e.updated_at == T0

    # the driver reads give what SQLAlchemy's rows give, types included
    with ctx.engine.connect() as conn, conn.begin() as tx:
        due, joined = _claim(conn, day, 500)
        claimed = sorted((e._asdict() for e in due), key=lambda e: e["id"])
        read = lead_rows(conn, ids, lock=False)
        narrow = lead_rows(conn, ids, lock=False, columns=NARROW)
        tx.rollback()
    stored = [{c: e._mapping[c] for c in CLAIMED} for e in sorted(states, key=lambda e: e.id)]
    assert claimed == stored
    if joined is not None:  # SQLite: the claim's own lead rows are `lead_rows`' narrow ones
        assert set(joined) == {e.lead_id for e in due}
        assert joined == {i: narrow[i] for i in joined}
    with ctx.engine.connect() as conn:
        assert read == {r.id: dict(r._mapping) for r in conn.execute(select(leads))}

    assert step_tick(ctx, day, limit=500) == N
    assert step_tick(ctx, day, limit=500) == 0
    with ctx.engine.connect() as conn:
        done = conn.execute(select(journey_enrolments.c.status)).scalars().all()
        total = len(conn.execute(select(journey_step_runs.c.id)).all())
        queued = conn.execute(select(email_sends.c.id).where(email_sends.c.status == "queued"))
        assert len(queued.all()) == 2 * N
    assert set(done) == {"completed"} and total == 4 * N and duplicated_steps(ctx) == 0
    # the cohort's wait records went in with one statement (SQLite): each person's records
    # are still in their order, and every wait record is the one a person alone writes
    with ctx.engine.connect() as conn:
        records = conn.execute(select(journey_step_runs).order_by(journey_step_runs.c.id)).all()
    order: dict[int, list[str]] = {}
    for r in records:
        order.setdefault(r.enrolment_id, []).append(r.step)
    assert len(order) == N and all(s == ["hello", "hook", "pause", "more"] for s in order.values())
    waits = {
        (r.kind, r.outcome, r.attempt, r.version, r.at, tuple(sorted(r.result.items())))
        for r in records
        if r.step == "pause"
    }
    until = {"started": T0.isoformat(), "until": day.isoformat()}
    assert waits == {("wait", "waited", 1, 1, day, tuple(sorted(until.items())))}


@pytest.mark.parametrize("backend_url", ["sqlite"], indirect=True)  # PostgreSQL has no such setting
def test_sqlite_checkpoints_once_a_drain(ctx) -> None:  # type: ignore[no-untyped-def]
    """While claims come back full the WAL is not checkpointed at each commit; the interval is
    the store's own again once the tick's connection is back in the pool, and the drain's last,
    partial claim commits under it (its commit checkpoints)."""
    assert ctx.engine.dialect.name == "sqlite"
    write_journey(ctx.workspace.root, "bulk", NURTURE)
    publish(ctx, "bulk", now=T0)
    _people(ctx)
    ctx.engine.dispose()

    def intervals() -> set[int]:
        """The interval of every connection in the pool (all checked out at once)."""
        with ExitStack() as stack:
            pooled = max(1, ctx.engine.pool.checkedin())
            conns = [stack.enter_context(ctx.engine.connect()) for _ in range(pooled)]
            return {c.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() for c in conns}

    assert intervals() == {WAL_PAGES_DEFAULT}
    seen: list[int] = []

    @event.listens_for(ctx.engine, "commit")
    def _at_commit(conn) -> None:  # type: ignore[no-untyped-def]
        seen.append(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())

    claimed = []
    while n := step_tick(ctx, T0, limit=50):
        claimed.append(n)
        assert intervals() == {WAL_PAGES_DEFAULT}  # no pooled connection keeps the bulk one
    event.remove(ctx.engine, "commit", _at_commit)
    assert claimed == [50, 50, 20]
    # two full claims, the partial one, then the empty claim that ends the drain
    assert seen == [WAL_PAGES_BULK, WAL_PAGES_BULK, WAL_PAGES_DEFAULT, WAL_PAGES_DEFAULT]
    assert duplicated_steps(ctx) == 0


@pytest.mark.parametrize("backend_url", ["sqlite"], indirect=True)  # a WAL is SQLite's
def test_a_drain_of_full_claims_ends_with_its_wal_checkpointed(ctx) -> None:  # type: ignore[no-untyped-def]
    """When every claim came back full no commit ran under the store's own interval, so the
    drain's pages were only in the WAL; the empty claim that ends the drain checkpoints them
    into the database file (which grows by the new rows' pages)."""
    write_journey(ctx.workspace.root, "bulk", NURTURE)
    publish(ctx, "bulk", now=T0)
    _people(ctx)
    entry_tick(ctx, T0)
    database = Path(ctx.engine.url.database)
    with ctx.engine.connect() as conn:  # start from a database file holding every page
        conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    before = database.stat().st_size
    claimed, sizes = [], []
    while n := step_tick(ctx, T0, limit=40):
        claimed.append(n)
        sizes.append(database.stat().st_size)
    assert claimed == [40, 40, 40]  # N = 120: full claims only
    assert sizes == [before] * 3  # while claims came back full: nothing copied back
    assert database.stat().st_size > before  # the drain's end copied its pages back
    assert duplicated_steps(ctx) == 0
