"""End to end: send_email -> outbox -> real SMTP server; the received unsubscribe link followed
through a real uvicorn server; the next send is skipped. On SQLite and PostgreSQL."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path

import httpx
import pytest
from notify_helpers import drain, write_config
from sqlalchemy import select

from conftest import add_lead, set_messaging
from marketops.messaging.compose import email_composer
from marketops.messaging.send import SendResult, send_email
from marketops.messaging.unsubscribe import make_token
from marketops.store.leads_repo import lead_with_history
from marketops.store.tables_messaging import email_unsubscribes
from marketops.testing.server import serve_workspace, stop_server

MORNING = datetime(2025, 6, 10, 9, 30, tzinfo=UTC)


@pytest.fixture
def server(workspace_dir: Path, backend_url: str, ctx):  # type: ignore[no-untyped-def]
    """`marketops serve` on the same store; messaging.yml's unsubscribe base URL points at it."""
    live, tokens = serve_workspace(workspace_dir, backend_url, scopes=("read",))
    set_messaging(workspace_dir, unsubscribe={"base_url": live.base_url})
    yield live, tokens["read"]
    stop_server(live)


def send(ctx, lead_id: str, ref: str, template: str = "welcome", **kw):  # type: ignore[no-untyped-def]
    with ctx.engine.begin() as conn:
        return send_email(conn, ctx, lead_id=lead_id, template=template, ref=ref, now=MORNING, **kw)


def received(smtp) -> list[email.message.EmailMessage]:  # type: ignore[no-untyped-def]
    return [email.message_from_bytes(m.content, policy=policy.default) for m in smtp.messages]


def test_email_delivered_then_unsubscribed_through_the_link(ctx, smtp, server) -> None:  # type: ignore[no-untyped-def]
    live, read_key = server
    cfg = write_config(ctx.workspace.root, smtp={"host": "127.0.0.1", "port": smtp.port})
    lead = add_lead(ctx, "Ann@Example.com", consent_email="true", company="Acme & Co")

    assert send(ctx, lead, "welcome#1").status == "queued"
    assert send(ctx, lead, "welcome#1").status == "queued"  # same ref: still one email
    assert drain(ctx.engine, cfg, compose=email_composer(ctx))["delivered"] == 1
    [msg] = received(smtp)

    assert msg["To"] == "ann@example.com"
    assert msg["From"] == "Acme Marketing <marketing@acme.example>"
    assert msg["Reply-To"] == "hello@acme.example"
    assert msg["Subject"] == "Welcome to Acme, there"  # no first name: the fallback
    assert re.fullmatch(r"<[0-9a-f]{40}@acme\.example>", msg["Message-ID"])
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    mailto, https = [u.strip(" <>") for u in msg["List-Unsubscribe"].split(",")]
    assert mailto.startswith("mailto:unsubscribe@acme.example?subject=unsubscribe%20")
    assert https.startswith(f"{live.base_url}/u/")
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Hi there," in text and "on behalf of Acme & Co." in text
    assert "on behalf of Acme &amp; Co." in html and f'href="{https}"' in html
    assert f"Unsubscribe: {https}" in text and "100 Main Street" in text

    with httpx.Client(timeout=30) as client:
        page = client.get(https)
        assert page.status_code == 200 and "a***@example.com" in page.text
        assert '<form method="post">' in page.text
        # a link scanner's GET changed nothing
        assert send(ctx, lead, "nurture_1", template="nurture_1").status == "queued"

        forged = https[:-3] + ("AAA" if not https.endswith("AAA") else "BBB")
        assert client.post(forged, content=b"List-Unsubscribe=One-Click").status_code == 400
        assert client.get(f"{live.base_url}/u/not-a-token").status_code == 400
        nobody = make_token("no-such-lead", "marketing", [b"test-unsubscribe-key-0123456789abcdef"])
        assert client.post(f"{live.base_url}/u/{nobody}").status_code == 404
        with ctx.engine.connect() as conn:
            assert conn.execute(select(email_unsubscribes)).all() == []

        # RFC 8058 one-click, as a mailbox provider sends it: no API key, the token is enough
        one_click = client.post(
            https,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert one_click.status_code == 200 and "You are unsubscribed" in one_click.text
        assert client.post(https).status_code == 200  # twice: harmless
        assert "You are unsubscribed" in client.get(https).text

        sends = client.get(
            f"{live.base_url}/v1/email/sends",
            params={"lead_id": lead},
            headers={"Authorization": f"Bearer {read_key}"},
        )
        assert sends.status_code == 200 and {r["ref"] for r in sends.json()} == {
            "welcome#1",
            "nurture_1",
        }
        assert client.get(f"{live.base_url}/v1/email/sends").status_code == 401
        preview = client.post(
            f"{live.base_url}/v1/email/preview",
            json={"template": "upsell", "lead_id": lead, "params": {"plan": "Enterprise"}},
            headers={"Authorization": f"Bearer {read_key}"},
        )
        assert preview.status_code == 200
        assert preview.json()["subject"] == "Acme & Co is ready for Enterprise"

    with ctx.engine.connect() as conn:
        stored = lead_with_history(conn, lead)
        methods = [r.method for r in conn.execute(select(email_unsubscribes.c.method))]
    assert stored["consent"]["email"] is False
    assert methods == ["one-click", "page"]
    consent_events = [h for h in stored["history"] if h["kind"] == "consent"]
    assert len(consent_events) == 1
    assert consent_events[0]["data"] == {
        "channel": "email",
        "granted": False,
        "from": True,  # the consent before: `journey simulate` replays it
        "topic": "marketing",
        "via": "one-click",
    }
    assert send(ctx, lead, "nurture_2", template="nurture_2") == SendResult(
        "skipped", "unsubscribed", None, None
    )
    drain(ctx.engine, cfg, compose=email_composer(ctx))
    assert [m["Subject"] for m in received(smtp)] == [
        "Welcome to Acme, there",
        "Part 1: three reports to automate, friend",
    ]


def test_quiet_hours_deferral_is_delivered_after_retry(ctx, smtp) -> None:  # type: ignore[no-untyped-def]
    cfg = write_config(ctx.workspace.root, smtp={"host": "127.0.0.1", "port": smtp.port})
    lead = add_lead(
        ctx, "bo@example.com", consent_email="true", first_name="bo", timezone="Europe/Paris"
    )
    night = datetime(2025, 10, 26, 0, 30, tzinfo=UTC)  # 02:30 CEST, the night Paris falls back
    with ctx.engine.begin() as conn:
        first = send_email(conn, ctx, lead_id=lead, template="welcome", ref="w", now=night)
    assert first.status == "deferred" and first.retry_at == datetime(2025, 10, 26, 7, 0, tzinfo=UTC)
    drain(ctx.engine, cfg, compose=email_composer(ctx))
    assert smtp.messages == []
    with ctx.engine.begin() as conn:
        again = send_email(conn, ctx, lead_id=lead, template="welcome", ref="w", now=first.retry_at)
    assert again.status == "queued"
    drain(ctx.engine, cfg, compose=email_composer(ctx))
    [msg] = received(smtp)
    assert msg["Subject"] == "Welcome to Acme, Bo"  # the token rendered (name normalised)
    assert first.retry_at - night == timedelta(hours=6, minutes=30)
