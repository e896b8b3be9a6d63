"""send_email on both stores: consent, do-not-contact, quiet hours, the cap, exactly-once per ref."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from conftest import add_lead, set_messaging
from marketops.errors import MarketopsError
from marketops.messaging.compose import email_composer
from marketops.messaging.send import SendResult, send_email
from marketops.notify.outbox import Claimed, get_delivery
from marketops.store.schema import activities, suppressions
from marketops.store.tables_messaging import email_sends
from marketops.store.tables_notify import outbox

NOON = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)


def send(ctx, lead_id: str, ref: str, now: datetime = NOON, template: str = "welcome", **kw):  # type: ignore[no-untyped-def]
    with ctx.engine.begin() as conn:
        return send_email(conn, ctx, lead_id=lead_id, template=template, ref=ref, now=now, **kw)


def outbox_rows(ctx) -> int:  # type: ignore[no-untyped-def]
    with ctx.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(outbox)) or 0


def composed(ctx, delivery_id: int) -> Claimed | str:  # type: ignore[no-untyped-def]
    """The outbox row as the worker sends it: its recipe rendered by the email composer."""
    with ctx.engine.connect() as conn:
        row = get_delivery(conn, delivery_id)
    fields = ("id", "idempotency_key", "channel", "destination", "subject", "payload")
    claimed = Claimed(*(row[f] for f in fields), attempt=1, token="t")
    return email_composer(ctx)([claimed])[0]


def test_queued_once_per_ref_rendered_at_delivery(ctx) -> None:  # type: ignore[no-untyped-def]
    lead = add_lead(ctx, "ann@example.com", consent_email="true", company="Acme & Co")
    first = send(ctx, lead, "journey:welcome:1")
    assert first.status == "queued" and first.reason is None and first.delivery_id
    again = send(ctx, lead, "journey:welcome:1", now=NOON + timedelta(hours=1))
    assert again == first
    assert outbox_rows(ctx) == 1
    with ctx.engine.connect() as conn:
        row = get_delivery(conn, first.delivery_id)
        decisions = conn.execute(select(email_sends)).all()
    # the decision stores the recipe; the message is rendered when the outbox sends it
    assert row["destination"] == "ann@example.com" and row["subject"] is None
    assert row["payload"] == {
        "compose": "email_template",
        "lead_id": lead,
        "template": "welcome",
        "params": {},
    }
    msg = composed(ctx, first.delivery_id)
    assert isinstance(msg, Claimed) and msg.subject == "Welcome to Acme, there"
    headers = msg.payload["mail_headers"]
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Unsubscribe"].startswith("<mailto:unsubscribe@acme.example?subject=")
    assert ", <https://mkt.acme.example/u/" in headers["List-Unsubscribe"]
    assert headers["Message-ID"].endswith("@acme.example>")
    assert headers["X-Marketops-Template"] == "welcome"
    assert msg.payload["mail_from"] == "Acme Marketing <marketing@acme.example>"
    assert msg.payload["lead_id"] == lead and msg.payload["template"] == "welcome"
    assert "Acme &amp; Co" in msg.payload["html"]
    assert len(decisions) == 1 and decisions[0].status == "queued"


def test_consent_rules(ctx, workspace_dir: Path) -> None:  # type: ignore[no-untyped-def]
    withdrawn = add_lead(ctx, "no@example.com", consent_email="false")
    unknown = add_lead(ctx, "maybe@example.com")
    assert send(ctx, withdrawn, "r1") == SendResult("skipped", "consent_withdrawn", None, None)
    assert send(ctx, unknown, "r1") == SendResult("skipped", "no_consent", None, None)
    # skipped is final for that ref, even after the policy changes
    set_messaging(workspace_dir, consent="unless_withdrawn")
    assert send(ctx, unknown, "r1").reason == "no_consent"
    assert send(ctx, unknown, "r2").status == "queued"
    assert send(ctx, withdrawn, "r2").reason == "consent_withdrawn"
    assert outbox_rows(ctx) == 1


def test_do_not_contact_lists(ctx) -> None:  # type: ignore[no-untyped-def]
    by_email = add_lead(ctx, "blocked@example.com", consent_email="true")
    by_domain = add_lead(ctx, "someone@blocked.example", consent_email="true")
    phone_only = add_lead(ctx, "phone@example.org", consent_email="true")
    with ctx.engine.begin() as conn:
        conn.execute(
            insert(suppressions),
            [
                dict(channel="email", kind="email", value="blocked@example.com", created_at=NOON),
                dict(channel="all", kind="domain", value="blocked.example", created_at=NOON),
                dict(channel="phone", kind="email", value="phone@example.org", created_at=NOON),
            ],
        )
    ctx._suppression = None  # the 5-second cache: read the new entries now
    assert send(ctx, by_email, "r").reason == "do_not_contact"
    assert send(ctx, by_domain, "r").reason == "do_not_contact"
    assert send(ctx, phone_only, "r").status == "queued"


def test_quiet_hours_defer_to_local_morning_across_dst(ctx) -> None:  # type: ignore[no-untyped-def]
    lead = add_lead(
        ctx, "ny@example.com", consent_email="true", timezone="America/New_York", country="FR"
    )
    evening = datetime(2025, 3, 9, 3, 0, tzinfo=UTC)  # 22:00 EST, the night clocks spring forward
    deferred = send(ctx, lead, "step-1", now=evening)
    assert deferred == SendResult(
        "deferred", "quiet_hours", datetime(2025, 3, 9, 12, 0, tzinfo=UTC), None
    )
    assert outbox_rows(ctx) == 0
    # deferred is not final: asked again at retry_at it goes, still one row for the ref
    sent = send(ctx, lead, "step-1", now=deferred.retry_at)
    assert sent.status == "queued"
    assert send(ctx, lead, "step-1", now=deferred.retry_at + timedelta(hours=1)) == sent
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(email_sends.c.status, email_sends.c.attempts)).all()
    assert [tuple(r) for r in rows] == [("queued", 2)]


def test_country_zone_when_no_timezone_attribute(ctx) -> None:  # type: ignore[no-untyped-def]
    lead = add_lead(ctx, "fr@example.com", consent_email="true", country="France")
    at = datetime(2025, 6, 10, 19, 30, tzinfo=UTC)  # 21:30 in Paris
    assert send(ctx, lead, "s", now=at).retry_at == datetime(2025, 6, 11, 6, 0, tzinfo=UTC)


def test_transactional_ignores_quiet_hours_and_cap(ctx, workspace_dir: Path) -> None:  # type: ignore[no-untyped-def]
    (workspace_dir / "emails" / "receipt.yml").write_text(
        "subject: Your receipt\ncategory: transactional\ntext: Thanks.\n"
    )
    set_messaging(workspace_dir, frequency_cap={"max_emails": 1})
    lead = add_lead(ctx, "tx@example.com", consent_email="true")
    night = datetime(2025, 6, 10, 23, 0, tzinfo=UTC)
    assert send(ctx, lead, "a", now=night, template="receipt").status == "queued"
    assert send(ctx, lead, "b", now=night, template="receipt").status == "queued"
    # transactional sends do not use up the marketing cap
    assert send(ctx, lead, "c").status == "queued"
    assert send(ctx, lead, "d").reason == "frequency_cap"


def test_frequency_cap_defers_then_skips(ctx, workspace_dir: Path) -> None:  # type: ignore[no-untyped-def]
    lead = add_lead(ctx, "cap@example.com", consent_email="true")
    for day, template in enumerate(["welcome", "nurture_1", "nurture_2"]):
        assert (
            send(ctx, lead, template, now=NOON + timedelta(days=day), template=template).status
            == "queued"
        )
    over = send(ctx, lead, "nurture_3", now=NOON + timedelta(days=3), template="nurture_3")
    assert over == SendResult("deferred", "frequency_cap", NOON + timedelta(days=7), None)
    # the slot frees up 7 days after the first send: sent then
    assert send(ctx, lead, "nurture_3", now=over.retry_at, template="nurture_3").status == "queued"
    # a deferral that would land at night waits for the morning too (UTC default zone)
    set_messaging(workspace_dir, frequency_cap={"max_emails": 1, "per_days": 0.5})
    late = NOON + timedelta(days=7, hours=9)  # 21:00 UTC, the last send was 9 h ago
    assert send(ctx, lead, "x", now=late - timedelta(hours=1)).retry_at == late.replace(
        hour=0
    ) + timedelta(days=1, hours=8)
    set_messaging(workspace_dir, frequency_cap={"over_cap": "skip"})
    skipped = send(ctx, lead, "y", now=late)
    assert skipped == SendResult("skipped", "frequency_cap", None, None)
    assert send(ctx, lead, "y", now=NOON + timedelta(days=30)) == skipped  # final


def test_unknown_lead_bad_template_and_missing_key(ctx, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    assert send(ctx, "no-such-lead", "r").reason == "lead_not_found"
    lead = add_lead(ctx, "k@example.com", consent_email="true")
    with pytest.raises(MarketopsError, match="no email template 'nope'"):
        send(ctx, lead, "r", template="nope")
    monkeypatch.delenv("MARKETOPS_SECRET_KEY")
    with pytest.raises(MarketopsError, match="unsubscribe links cannot be signed"):
        send(ctx, lead, "r")
    assert outbox_rows(ctx) == 0


def test_render_error_dead_letters_at_delivery_and_replays(ctx, workspace_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from notify_helpers import drain, write_config

    from marketops.notify.outbox import replay

    cfg = write_config(workspace_dir, smtp={"host": "127.0.0.1", "port": 9})
    tpl = workspace_dir / "emails" / "list.yml"
    tpl.write_text(
        "subject: Picks\ntext: '{% for p in params.picks %}{{ p.title }} {% endfor %}'\n"
    )
    lead = add_lead(ctx, "r@example.com", consent_email="true")
    result = send(ctx, lead, "r", template="list", params={"picks": [{"name": "no title"}]})
    assert result.status == "queued"  # the decision does not render
    why = composed(ctx, result.delivery_id)
    assert isinstance(why, str) and why.startswith("render_error: template 'list'")
    assert "title" in why
    assert drain(ctx.engine, cfg, compose=email_composer(ctx))["dead"] == 1
    with ctx.engine.connect() as conn:
        dead = get_delivery(conn, result.delivery_id)
    assert dead["status"] == "dead" and dead["last_error"] == why
    assert dead["attempt_log"][0]["outcome"] == "dead"
    # fix the template, replay: the same row renders now
    tpl.write_text("subject: Picks\ntext: '{% for p in params.picks %}{{ p.name }} {% endfor %}'\n")
    with ctx.engine.begin() as conn:
        assert replay(conn, [result.delivery_id], now=NOON) == 1
    msg = composed(ctx, result.delivery_id)
    assert isinstance(msg, Claimed) and msg.payload["text"].startswith("no title")


def test_recipe_without_a_composer_is_a_dead_letter_not_a_garbled_email(
    ctx, workspace_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    from notify_helpers import drain, write_config

    cfg = write_config(workspace_dir, smtp={"host": "127.0.0.1", "port": 9})
    lead = add_lead(ctx, "nc@example.com", consent_email="true")
    result = send(ctx, lead, "r")
    assert drain(ctx.engine, cfg)["dead"] == 1
    with ctx.engine.connect() as conn:
        dead = get_delivery(conn, result.delivery_id)
    assert "needs a composer" in dead["last_error"]


def test_suppression_segments(ctx) -> None:  # type: ignore[no-untyped-def]
    from marketops.errors import NotFound
    from marketops.segments.service import add_to_list, refresh

    listed = add_lead(ctx, "listed@example.com", consent_email="true")
    ticket = add_lead(ctx, "ticket@example.com", consent_email="true")
    free = add_lead(ctx, "free@example.com", consent_email="true")
    with ctx.engine.begin() as conn:
        add_to_list(conn, "do-not-email", [listed], NOON, source="test")
        conn.execute(  # as the support-desk integration records it
            insert(activities).values(
                lead_id=ticket, type="support_ticket_opened", occurred_at=NOON, details={}
            )
        )
    refresh(ctx, datetime.now(UTC), [ticket, free])  # the dynamic segment, from the activity
    segments = ("open-support-ticket", "do-not-email")
    assert send(ctx, listed, "r", suppression_segments=segments).reason == (
        "suppression_segment:do-not-email"
    )
    assert send(ctx, ticket, "r", suppression_segments=segments).reason == (
        "suppression_segment:open-support-ticket"
    )
    assert send(ctx, free, "r", suppression_segments=segments).status == "queued"
    assert send(ctx, listed, "r2").status == "queued"  # not attached to this send
    with pytest.raises(NotFound, match="no segment or list named 'typo'"):
        send(ctx, free, "r3", suppression_segments=("typo",))


def test_recipe_for_a_lead_gone_before_delivery_names_it(ctx) -> None:  # type: ignore[no-untyped-def]
    from marketops.messaging.compose import compose_one

    lead = add_lead(ctx, "gone@example.com", consent_email="true")
    result = send(ctx, lead, "r")
    with ctx.engine.connect() as conn:
        row = get_delivery(conn, result.delivery_id)
    fields = ("id", "idempotency_key", "channel", "destination", "subject", "payload")
    claimed = Claimed(*(row[f] for f in fields), attempt=1, token="t")
    why = compose_one(ctx.workspace.root, claimed, {})  # the leads read at delivery: none
    assert why == f"render: lead {lead} no longer exists"
