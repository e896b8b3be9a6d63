"""send_emails: a mixed batch gets the answers, rows and outbox messages of one call at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from conftest import add_lead, set_messaging
from marketops.messaging.send import SendRequest, SendResult, send_email, send_emails
from marketops.segments.service import add_to_list
from marketops.store.tables_messaging import email_sends
from marketops.store.tables_notify import outbox

NOON = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)
SUPPRESS = ("do-not-email",)


def _people(ctx: Any) -> dict[str, str]:
    """One person per policy case, with the history that makes the case."""
    p = {
        "ok": add_lead(ctx, "ok@example.com", consent_email="true", company="Acme & Co"),
        "off": add_lead(ctx, "off@example.com", consent_email="false"),
        "unknown": add_lead(ctx, "unknown@example.com"),
        "capped": add_lead(ctx, "capped@example.com", consent_email="true"),
        "near_cap": add_lead(ctx, "near@example.com", consent_email="true"),
        "night": add_lead(ctx, "night@example.com", consent_email="true", timezone="Asia/Tokyo"),
        "listed": add_lead(ctx, "listed@example.com", consent_email="true"),
    }
    with ctx.engine.begin() as conn:
        add_to_list(conn, "do-not-email", [p["listed"]], NOON, source="test")
    for day in range(3):  # the cap (3 in 7 days) is reached
        _one(ctx, p["capped"], f"old-{day}", NOON - timedelta(days=day + 1))
    for day in range(2):  # one slot left: the batch's first email takes it
        _one(ctx, p["near_cap"], f"old-{day}", NOON - timedelta(days=day + 1))
    _one(ctx, p["ok"], "done-before", NOON - timedelta(days=10))  # a final answer for a ref
    _one(ctx, p["night"], "deferred-before", NOON - timedelta(hours=1))  # not final
    return p


def _one(ctx: Any, lead: str, ref: str, now: datetime) -> SendResult:
    with ctx.engine.begin() as conn:
        return send_email(conn, ctx, lead_id=lead, template="welcome", ref=ref, now=now)


def _requests(p: dict[str, str]) -> list[SendRequest]:
    def req(who: str, ref: str, **kw: Any) -> SendRequest:
        return SendRequest(p.get(who, who), kw.pop("template", "welcome"), ref, SUPPRESS, **kw)

    return [
        req("ok", "s1"),
        req("off", "s1"),
        req("unknown", "s1"),
        req("capped", "s1"),
        req("near_cap", "s1"),
        req("near_cap", "s2"),  # over the cap because of the one just before it
        req("night", "s1"),  # quiet hours in Tokyo
        req("night", "deferred-before"),  # decided again: still night
        req("listed", "s1"),
        req("ok", "s1"),  # a duplicate ref in the batch: the first answer
        req("ok", "done-before"),  # a final answer from before
        req("night", "s1"),  # a duplicate of a deferral: decided again
        req("no-such-lead", "s1"),
        req("ok", "s3", template="nurture_1"),
    ]


def _state(conn: Connection, p: dict[str, str]) -> tuple[list[Any], list[Any]]:
    """The stored outcome with store-made ids replaced by what they point at."""
    name = {v: k for k, v in p.items()}
    messages = {
        r.id: (r.idempotency_key.replace(r.payload["lead_id"], name[r.payload["lead_id"]]), r)
        for r in conn.execute(select(outbox))
    }
    sends = sorted(
        (
            name.get(r.lead_id, r.lead_id),
            r.ref,
            r.template,
            r.category,
            r.status,
            r.reason,
            r.retry_at,
            messages[r.delivery_id][0] if r.delivery_id else None,
            r.attempts,
            r.created_at,
            r.decided_at,
        )
        for r in conn.execute(select(email_sends))
    )
    mails = sorted(
        (key, r.channel, r.destination, r.status, r.next_attempt_at, r.payload["template"])
        for key, r in messages.values()
    )
    return sends, mails


def _answers(results: list[SendResult]) -> list[tuple[Any, ...]]:
    return [(r.status, r.reason, r.retry_at, r.delivery_id is not None) for r in results]


def test_batch_equals_one_at_a_time(ctx) -> None:  # type: ignore[no-untyped-def]
    p = _people(ctx)
    requests = _requests(p)
    with ctx.engine.connect() as conn:
        with conn.begin() as tx:
            single = [
                send_email(
                    conn,
                    ctx,
                    lead_id=r.lead_id,
                    template=r.template,
                    ref=r.ref,
                    now=NOON,
                    suppression_segments=r.suppression_segments,
                    params=r.params,
                )
                for r in requests
            ]
            single_state = _state(conn, p)
            tx.rollback()
        with conn.begin():
            batched = send_emails(conn, ctx, requests, NOON)
            batched_state = _state(conn, p)
    assert _answers(batched) == _answers(single)
    assert batched_state == single_state
    got = {(r.lead_id, r.ref): b for r, b in zip(requests, batched, strict=True)}
    # every case took the branch it was built for (the comparison alone could agree on nonsense)
    assert [(b.status, b.reason) for b in batched] == [
        ("queued", None),
        ("skipped", "consent_withdrawn"),
        ("skipped", "no_consent"),
        ("deferred", "frequency_cap"),
        ("queued", None),
        ("deferred", "frequency_cap"),
        ("deferred", "quiet_hours"),
        ("deferred", "quiet_hours"),
        ("skipped", "suppression_segment:do-not-email"),
        ("queued", None),
        ("queued", None),
        ("deferred", "quiet_hours"),
        ("skipped", "lead_not_found"),
        ("queued", None),
    ]
    assert batched[9] == got[(p["ok"], "s1")] == batched[0]  # one delivery for the duplicate
    sends = {(s[0], s[1]): s for s in batched_state[0]}
    assert sends[("night", "deferred-before")][8] == 2  # attempts: decided twice
    assert sends[("night", "s1")][8] == 2
    assert {m[0] for m in batched_state[1]} == {
        "email:done-before:ok",
        *(f"email:old-{d}:capped" for d in range(3)),
        *(f"email:old-{d}:near_cap" for d in range(2)),
        "email:s1:ok",
        "email:s1:near_cap",
        "email:s3:ok",
    }
    assert len(batched_state[1]) == 9


def test_batch_again_changes_nothing(ctx) -> None:  # type: ignore[no-untyped-def]
    """Re-running a committed batch (a retried tick) writes no second row or message."""
    p = _people(ctx)
    requests = _requests(p)
    with ctx.engine.begin() as conn:
        first = send_emails(conn, ctx, requests, NOON)
        before = _state(conn, p)
    with ctx.engine.begin() as conn:
        again = send_emails(conn, ctx, requests, NOON)
        after = _state(conn, p)
    final = [i for i, r in enumerate(first) if r.status != "deferred"]
    assert [again[i] for i in final] == [first[i] for i in final]
    assert after[1] == before[1]  # the outbox: not one message more
    assert len(after[0]) == len(before[0])


def test_the_cap_rows_are_read_only_where_the_cap_can_be_reached(ctx, workspace_dir) -> None:  # type: ignore[no-untyped-def]
    """A person's counted sends are read only when their rows plus the batch's requests for them
    exceed the cap (3 in 7 days): at the bound and below it, and above it, the answers are the
    cap's own."""
    who = {k: add_lead(ctx, f"{k}@cap.example", consent_email="true") for k in "abcd"}
    for k in "abd":  # two sends in the window: one slot left
        for day in range(2):
            _one(ctx, who[k], f"old-{day}", NOON - timedelta(days=day + 1))
    for day in range(3):  # three sends, all out of the window
        _one(ctx, who["c"], f"old-{day}", NOON - timedelta(days=8 + day))

    def batch(*asked: tuple[str, str]) -> list[tuple[str, str | None]]:
        requests = [SendRequest(who[k], "welcome", ref) for k, ref in asked]
        with ctx.engine.begin() as conn:
            return [(r.status, r.reason) for r in send_emails(conn, ctx, requests, NOON)]

    queued, capped = ("queued", None), ("deferred", "frequency_cap")
    assert batch(("a", "s1")) == [queued]  # 2 rows + 1 request: at the bound, not read
    assert batch(("a", "s2")) == [capped]  # 3 rows + 1: read, and counted
    assert batch(("b", "s1"), ("b", "s2")) == [queued, capped]  # 2 + 2: read
    assert batch(("c", "s1"), ("c", "s2"), ("c", "s3")) == [queued, queued, queued]  # none count
    set_messaging(workspace_dir, frequency_cap={"enabled": False})
    assert batch(("d", "s1"), ("d", "s2")) == [queued, queued]  # no cap: nothing to read
