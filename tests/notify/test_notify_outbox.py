"""The outbox on SQLite and PostgreSQL: atomic enqueue, idempotency, leases, retry and replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from marketops.errors import MarketopsError, NotFound
from marketops.notify import outbox
from marketops.notify.config import RetryPolicy
from marketops.notify.policy import SendResult, decide
from marketops.store.schema import suppressions
from marketops.store.tables_notify import outbox as outbox_t
from marketops.store.tables_notify import outbox_attempts

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _enqueue(conn, key: str, **kw) -> int:  # type: ignore[no-untyped-def]
    args = dict(channel="webhook", destination="crm", payload={"k": key}, now=NOW) | kw
    return outbox.enqueue(conn, idempotency_key=key, **args)


def test_enqueue_is_atomic_with_the_change_and_idempotent(ctx) -> None:  # type: ignore[no-untyped-def]
    engine = ctx.engine
    # rolled back with the caller's change: neither the change nor the message exists
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(
            suppressions.insert().values(
                channel="all", kind="domain", value="x.example", created_at=NOW
            )
        )
        _enqueue(conn, "rolled-back")
        raise RuntimeError("the change failed")
    with engine.begin() as conn:
        first = _enqueue(conn, "a", subject="hello")
        # same key again in the same transaction: ignored, the transaction stays usable
        assert _enqueue(conn, "a", payload={"other": 1}) == first
        second = _enqueue(conn, "b")
    with engine.begin() as conn:
        assert _enqueue(conn, "a") == first  # and in a later one
    with engine.connect() as conn:
        rows = conn.execute(select(outbox_t).order_by(outbox_t.c.id)).all()
        assert conn.execute(select(suppressions)).all() == []
    assert [r.idempotency_key for r in rows] == ["a", "b"]
    assert rows[0].payload == {"k": "a"} and rows[0].subject == "hello"
    assert {r.status for r in rows} == {"pending"} and second == rows[1].id


def test_enqueue_rejects_bad_input_with_reasons(ctx) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MarketopsError) as exc, ctx.engine.begin() as conn:
        outbox.enqueue(
            conn, channel="sms", destination="", payload={}, idempotency_key="k", now=NOW
        )
    assert {p.where for p in exc.value.problems} == {"channel", "destination"}


def test_claims_are_exclusive_and_leases_expire(ctx) -> None:  # type: ignore[no-untyped-def]
    with ctx.engine.begin() as conn:
        ids = [_enqueue(conn, f"k{i}") for i in range(5)]
        _enqueue(conn, "later", now=NOW + timedelta(hours=1))
    with ctx.engine.begin() as conn:
        a = outbox.claim(conn, now=NOW, limit=3, lease_s=60, token="A")
    with ctx.engine.begin() as conn:
        b = outbox.claim(conn, now=NOW, limit=10, lease_s=60, token="B")
    assert [c.id for c in a] == ids[:3] and [c.id for c in b] == ids[3:]
    assert {c.attempt for c in a + b} == {1}
    with ctx.engine.begin() as conn:  # nothing left while the leases hold
        assert (
            outbox.claim(conn, now=NOW + timedelta(seconds=59), limit=10, lease_s=60, token="C")
            == []
        )
    # worker A "crashed": after its lease, C takes its rows over (attempt 2); B's are done
    policy = RetryPolicy()
    with ctx.engine.begin() as conn:
        held = outbox.record(
            conn,
            [
                outbox.Outcome(
                    c,
                    SendResult(True, 200),
                    decide(SendResult(True, 200), 1, policy, NOW, 0),
                    NOW,
                    1.0,
                )
                for c in b
            ],
            worker="B",
            now=NOW,
        )
    assert held == 2
    with ctx.engine.begin() as conn:
        c = outbox.claim(conn, now=NOW + timedelta(seconds=61), limit=10, lease_s=60, token="C")
    assert [x.id for x in c] == ids[:3] and {x.attempt for x in c} == {2}
    # A wakes up and reports a failure: its claim is gone, so the row is not touched
    late = [
        outbox.Outcome(
            x, SendResult(False, 500), decide(SendResult(False, 500), 1, policy, NOW, 0), NOW, 1.0
        )
        for x in a
    ]
    with ctx.engine.begin() as conn:
        assert outbox.record(conn, late, worker="A", now=NOW) == 0
        rows = {r.id: r for r in conn.execute(select(outbox_t))}
        log = conn.execute(select(outbox_attempts)).all()
    assert all(rows[i].claimed_by == "C" for i in ids[:3])
    assert all(rows[i].status == "delivered" for i in ids[3:])
    assert len(log) == 5  # every attempt is logged, even a late one


def test_retry_now_and_replay(ctx) -> None:  # type: ignore[no-untyped-def]
    policy = RetryPolicy(max_attempts=2, base_delay_s=100, max_delay_s=100)
    with ctx.engine.begin() as conn:
        i = _enqueue(conn, "x")
    fail = SendResult(False, 503, error="HTTP 503")
    for attempt, at in ((1, NOW), (2, NOW + timedelta(seconds=100))):
        with ctx.engine.begin() as conn:
            (c,) = outbox.claim(conn, now=at, limit=1, lease_s=10, token=f"t{attempt}")
            d = decide(fail, c.attempt, policy, at, 0.99)
            outbox.record(conn, [outbox.Outcome(c, fail, d, at, 1.0)], worker="w", now=at)
            row = outbox.get_delivery(conn, i)
        if attempt == 1:
            assert row["status"] == "pending" and row["next_attempt_at"] > at + timedelta(
                seconds=90
            )
            with ctx.engine.begin() as conn:  # an operator does not want to wait for the backoff
                assert outbox.retry_now(conn, [i], now=at) == 1
            with ctx.engine.connect() as conn:
                assert outbox.get_delivery(conn, i)["next_attempt_at"] == at
    assert row["status"] == "dead" and row["attempts"] == 2 and row["last_error"] == "HTTP 503"
    assert [a["outcome"] for a in row["attempt_log"]] == ["retry", "dead"]
    with ctx.engine.begin() as conn:
        assert outbox.counts(conn) == {"pending": 0, "delivered": 0, "dead": 1}
        assert outbox.replay(conn, None, now=NOW + timedelta(days=1)) == 1
        again = outbox.get_delivery(conn, i)
    assert again["status"] == "pending" and again["attempts"] == 0
    assert len(again["attempt_log"]) == 2  # history kept
    with pytest.raises(NotFound), ctx.engine.begin() as conn:
        outbox.replay(conn, [i, 999], now=NOW)
