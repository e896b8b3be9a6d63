"""Delivery to real local receivers: a flaky/hanging/recovering HTTP server and an SMTP server.

Nothing is lost and the receiver's idempotent view holds each message exactly once.
"""

from __future__ import annotations

from datetime import UTC, datetime

from notify_helpers import SECRET, SmtpSink, drain, write_config
from sqlalchemy import func, select

from marketops.notify import outbox
from marketops.notify.receiver import Receiver
from marketops.store.tables_notify import outbox_attempts

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _enqueue_many(engine, n: int, destination: str, channel: str = "webhook") -> list[int]:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        return [
            outbox.enqueue(
                conn,
                channel=channel,
                destination=destination,
                payload={"event": "lead.routed", "n": i},
                idempotency_key=f"lead-{i}:routed",
                now=datetime.now(UTC),
                subject=f"lead {i}",
            )
            for i in range(n)
        ]


def test_flaky_hanging_receiver_gets_everything_once(ctx) -> None:  # type: ignore[no-untyped-def]
    # each key: first request hangs past the client timeout (but is processed: a duplicate in
    # waiting), the next two fail with 500, then 20% of the rest fail at random
    rx = Receiver(SECRET, hang_first=1, hang_s=0.8, fail_first=2, fail_rate=0.2, seed=3)
    rx.start()
    try:
        cfg = write_config(
            ctx.workspace.root,
            retry={"max_attempts": 30},
            delivery={"timeout_s": 0.3, "concurrency": 8},
        )
        _enqueue_many(ctx.engine, 40, rx.url)
        totals = drain(ctx.engine, cfg)
    finally:
        rx.stop()
    assert totals == {"pending": 0, "delivered": 40, "dead": 0}
    assert sorted(rx.accepted) == sorted(f"lead-{i}:routed" for i in range(40))
    assert {rx.accepted[f"lead-{i}:routed"]["n"] for i in range(40)} == set(range(40))
    assert rx.bad_signatures == 0
    assert all(rx.requests[k] >= 4 for k in rx.accepted)  # hang + 2 failures + success
    with ctx.engine.connect() as conn:
        errors = conn.execute(
            select(outbox_attempts.c.error, func.count()).group_by(outbox_attempts.c.error)
        ).all()
    by_error = {e: n for e, n in errors}
    assert by_error["timeout after 0.3 s"] >= 40  # one per key, more if the machine is slow
    # a request the sender gave up on (the hung first one; any other a slow machine delays past
    # the timeout) can still be processed, so the re-send of its key is a duplicate, which the
    # receiver drops by idempotency key: never more duplicates than unanswered attempts
    unanswered = sum(n for e, n in by_error.items() if e and not e.startswith("HTTP "))
    assert rx.duplicates <= unanswered
    headers = rx.headers["lead-0:routed"]
    assert headers["Idempotency-Key"] == "lead-0:routed" and headers[
        "X-Marketops-Signature"
    ].startswith("v1=")


def test_down_receiver_dead_letters_then_replay_delivers(ctx) -> None:  # type: ignore[no-untyped-def]
    rx = Receiver(SECRET)
    rx.start()
    rx.down = True
    try:
        cfg = write_config(ctx.workspace.root, retry={"max_attempts": 3})
        ids = _enqueue_many(ctx.engine, 5, rx.url)
        assert drain(ctx.engine, cfg) == {"pending": 0, "delivered": 0, "dead": 5}
        assert rx.accepted == {} and all(n == 3 for n in rx.requests.values())
        with ctx.engine.connect() as conn:
            row = outbox.get_delivery(conn, ids[0])
        assert row["last_error"].startswith("HTTP 503")
        assert [a["status_code"] for a in row["attempt_log"]] == [503, 503, 503]
        rx.down = False  # the receiver recovers; an operator replays the dead letters
        with ctx.engine.begin() as conn:
            assert outbox.replay(conn, None, now=datetime.now(UTC)) == 5
        assert drain(ctx.engine, cfg) == {"pending": 0, "delivered": 5, "dead": 0}
    finally:
        rx.stop()
    assert len(rx.accepted) == 5 and rx.duplicates == 0


def test_unsigned_or_unresolvable_deliveries_are_kept_with_reasons(ctx) -> None:  # type: ignore[no-untyped-def]
    rx = Receiver(SECRET)
    rx.start()
    try:
        cfg = write_config(ctx.workspace.root, retry={"max_attempts": 2})
        (bad_dest,) = _enqueue_many(ctx.engine, 1, "no-such-destination")
        with ctx.engine.begin() as conn:
            unsigned = outbox.enqueue(
                conn,
                channel="webhook",
                destination=rx.url,
                payload={},
                idempotency_key="u",
                now=datetime.now(UTC),
            )
        assert drain(ctx.engine, cfg, env={}) == {"pending": 0, "delivered": 0, "dead": 2}
        with ctx.engine.connect() as conn:
            a = outbox.get_delivery(conn, bad_dest)
            b = outbox.get_delivery(conn, unsigned)
        assert "unknown destination `no-such-destination`" in a["last_error"]
        assert len(a["attempt_log"]) == 1  # permanent: dead at once
        assert "MARKETOPS_WEBHOOK_SECRET is unset" in b["last_error"]
        assert rx.requests == {}  # nothing unsigned reached the receiver
        with ctx.engine.begin() as conn:
            outbox.replay(conn, [unsigned], now=datetime.now(UTC))
        drain(ctx.engine, cfg)  # with the secret in the environment
        assert list(rx.accepted) == ["u"]
    finally:
        rx.stop()


def test_slack_payload_and_owner_mentions(ctx, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rx = Receiver(None)  # Slack does not verify our signature
    rx.start()
    try:
        monkeypatch.setenv("TEST_SLACK_URL", rx.url)
        cfg = write_config(
            ctx.workspace.root,
            destinations={"sales-slack": {"type": "slack", "url_env": "TEST_SLACK_URL"}},
            members={"ava.sdr": {"slack_user": "U0AVA", "slack_destination": "sales-slack"}},
        )
        with ctx.engine.begin() as conn:
            for key, dest, payload in (
                ("s1", "sales-slack", {"lead": "L1", "score": 72}),
                ("s2", "owner:ava.sdr", {"text": "New MQL for you"}),
                ("s3", "sales-slack", {"blocks": [{"type": "divider"}], "text": "fallback"}),
            ):
                outbox.enqueue(
                    conn,
                    channel="slack",
                    destination=dest,
                    payload=payload,
                    idempotency_key=key,
                    now=datetime.now(UTC),
                    subject="New MQL",
                )
        import os

        assert drain(ctx.engine, cfg, env=dict(os.environ))["delivered"] == 3
    finally:
        rx.stop()
    assert rx.accepted["s1"] == {"text": "New MQL\nlead: L1\nscore: 72"}
    assert rx.accepted["s2"] == {"text": "<@U0AVA> New MQL for you"}
    assert rx.accepted["s3"] == {"blocks": [{"type": "divider"}], "text": "fallback"}


def test_email_over_smtp_with_retry_and_owner_routing(ctx) -> None:  # type: ignore[no-untyped-def]
    with SmtpSink() as smtp:
        smtp.fail_next = 1  # a 451 first: retried, then accepted
        cfg = write_config(
            ctx.workspace.root,
            smtp={"host": "127.0.0.1", "port": smtp.port, "from": "mops@example.com"},
            destinations={"mops-team": {"type": "email", "to": ["a@example.com", "b@example.com"]}},
            members={"ava.sdr": {"email": "ava@example.com"}},
        )
        with ctx.engine.begin() as conn:
            for key, dest in (
                ("e1", "owner:ava.sdr"),
                ("e2", "mops-team"),
                ("e3", "x@example.com"),
            ):
                outbox.enqueue(
                    conn,
                    channel="email",
                    destination=dest,
                    payload={"text": f"body {key}"},
                    idempotency_key=key,
                    now=datetime.now(UTC),
                    subject=f"MQL {key}",
                )
        assert drain(ctx.engine, cfg) == {"pending": 0, "delivered": 3, "dead": 0}
        messages = list(smtp.messages)
    assert sorted(tuple(m.rcpt_tos) for m in messages) == [
        ("a@example.com", "b@example.com"),
        ("ava@example.com",),
        ("x@example.com",),
    ]
    by_key = {}
    for m in messages:
        text = m.content.decode()
        key = next(
            line.split(": ", 1)[1]
            for line in text.splitlines()
            if line.startswith("X-Marketops-Idempotency-Key")
        )
        by_key[key] = text
    assert set(by_key) == {"e1", "e2", "e3"}
    assert "Subject: MQL e1" in by_key["e1"] and "body e1" in by_key["e1"]
    assert "Message-ID: <" in by_key["e1"]
    with ctx.engine.connect() as conn:
        codes = conn.execute(select(outbox_attempts.c.status_code)).scalars().all()
    assert sorted(codes) == [250, 250, 250, 451]


def test_smtp_login_uses_the_password_from_the_environment(ctx) -> None:  # type: ignore[no-untyped-def]
    with SmtpSink(credentials=("marketops", "from-env")) as smtp:
        cfg = write_config(
            ctx.workspace.root,
            retry={"max_attempts": 1},
            smtp={
                "host": "127.0.0.1",
                "port": smtp.port,
                "username": "marketops",
                "password_env": "TEST_SMTP_PASSWORD",
            },
        )
        with ctx.engine.begin() as conn:
            for key in ("no-password", "with-password"):
                outbox.enqueue(
                    conn,
                    channel="email",
                    destination="x@example.com",
                    payload={"text": key},
                    idempotency_key=key,
                    now=datetime.now(UTC),
                )
        # first without the variable: the attempt fails with the reason, nothing is sent
        drain(ctx.engine, cfg, env={}, timeout_s=10)
        with ctx.engine.begin() as conn:
            dead = outbox.get_delivery(conn, 1)
            assert "TEST_SMTP_PASSWORD is unset" in dead["last_error"]
            outbox.replay(conn, None, now=datetime.now(UTC))
        assert drain(ctx.engine, cfg, env={"TEST_SMTP_PASSWORD": "from-env"})["delivered"] == 2
        assert smtp.logins == ["marketops", "marketops"] and len(smtp.messages) == 2
