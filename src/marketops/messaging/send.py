"""`send_email`: decide, render and enqueue one journey email, exactly once per (lead, ref).

Runs in the caller's transaction. The checks, in order: unsubscribed / consent, do-not-contact
(the workspace CSV and the `suppressions` table, as the pipeline's suppress stage reads them),
suppression segments, then — for marketing email — the frequency cap across journeys and quiet
hours in the contact's time zone. A queued email goes to the outbox (channel email), which sends
it over SMTP with retries and dead letters. Every decision is a row in `email_sends`: queued and
skipped are final (a repeat call returns them), deferred is not (a repeat call decides again).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr
from typing import Any, Literal

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from marketops.errors import MarketopsError, Problem
from marketops.messaging.config import MessagingFile
from marketops.messaging.policy import cap_check, contact_zone, quiet_until
from marketops.messaging.render import RenderError, compiled, messaging_config, render
from marketops.messaging.unsubscribe import (
    has_unsubscribed,
    make_token,
    signing_keys,
    unsubscribe_url,
)
from marketops.notify import outbox
from marketops.pipeline.enrich import domain_of
from marketops.store.schema import leads
from marketops.store.tables_messaging import email_sends

Status = Literal["queued", "skipped", "deferred"]
DNC_CHANNELS = ("email", "all")


@dataclass(frozen=True)
class SendResult:
    status: Status
    reason: str | None
    retry_at: datetime | None
    delivery_id: int | None


def _result(row: Mapping[str, Any]) -> SendResult:
    return SendResult(row["status"], row["reason"], row["retry_at"], row["delivery_id"])


def send_email(
    conn: Connection,
    ctx: Any,
    *,
    lead_id: str,
    template: str,
    ref: str,
    now: datetime,
    suppression_segments: Sequence[str] = (),
    params: Mapping[str, Any] | None = None,
) -> SendResult:
    """Send `template` to `lead_id` for step `ref` if policy allows; see the module docstring."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not ref or len(ref) > 200:
        raise MarketopsError("bad send ref", [Problem("ref", "must be 1-200 characters")])
    existing = _existing(conn, lead_id, ref)
    if existing is not None and existing["status"] != "deferred":
        return _result(existing)
    root = ctx.workspace.root
    cfg = messaging_config(root)
    category = compiled(root, template).model.category  # a bad template raises, naming file:line
    lead = _lead(conn, lead_id)
    if lead is None:
        result = SendResult("skipped", "lead_not_found", None, None)
    else:
        result = _decide(conn, ctx, lead, cfg, category, suppression_segments, now)
        if result is None:
            result = _enqueue(conn, lead, cfg, template, ref, params, ctx, now)
    return _record(conn, existing, lead_id, ref, template, category, result, now)


def _existing(conn: Connection, lead_id: str, ref: str) -> Mapping[str, Any] | None:
    row = conn.execute(
        select(email_sends).where(email_sends.c.lead_id == lead_id, email_sends.c.ref == ref)
    ).first()
    return row._mapping if row is not None else None


def _lead(conn: Connection, lead_id: str) -> dict[str, Any] | None:
    q = select(leads).where(leads.c.id == lead_id)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()  # one decision at a time per person: the cap holds across workers
    row = conn.execute(q).first()
    return dict(row._mapping) if row is not None else None


def _decide(
    conn: Connection,
    ctx: Any,
    lead: Mapping[str, Any],
    cfg: MessagingFile,
    category: str,
    segments: Sequence[str],
    now: datetime,
) -> SendResult | None:
    """Why not now (skipped / deferred), or None when the email may go."""
    consent = (lead.get("consent") or {}).get("email")
    if consent is False:
        reason = "unsubscribed" if has_unsubscribed(conn, lead["id"]) else "consent_withdrawn"
        return SendResult("skipped", reason, None, None)
    if cfg.consent == "explicit" and consent is not True:
        return SendResult("skipped", "no_consent", None, None)
    if _on_dnc(ctx, lead["email"]):
        return SendResult("skipped", "do_not_contact", None, None)
    for name in segments:
        if _is_member(conn, ctx, name, lead["id"]):
            return SendResult("skipped", f"suppression_segment:{name}", None, None)
    if category != "marketing":
        return None
    zone, _ = contact_zone(lead, cfg.quiet_hours)
    cap = cfg.frequency_cap
    if cap.enabled:
        decision = cap_check(now, _recent_sends(conn, lead["id"], now, cap.per_days), cap)
        if decision.over:
            if cap.over_cap == "skip" or decision.retry_at is None:
                return SendResult("skipped", "frequency_cap", None, None)
            retry = decision.retry_at
            retry = quiet_until(retry, zone, cfg.quiet_hours) or retry
            return SendResult("deferred", "frequency_cap", retry, None)
    quiet_end = quiet_until(now, zone, cfg.quiet_hours)
    if quiet_end is not None:
        return SendResult("deferred", "quiet_hours", quiet_end, None)
    return None


def _on_dnc(ctx: Any, email: str) -> bool:
    index = ctx.suppression_index()
    email = email.strip().lower()
    domain = domain_of(email)
    return any(
        email in index.emails.get(ch, ()) or domain in index.domains.get(ch, ())
        for ch in DNC_CHANNELS
    )


def _is_member(conn: Connection, ctx: Any, segment: str, lead_id: str) -> bool:
    """Stored membership; an undeclared name is an error, never a silent "not a member"."""
    from marketops.segments import service

    service.find(ctx, segment)  # NotFound naming segments.yml and the known names
    return bool(service.is_member(conn, segment, lead_id))


def _recent_sends(conn: Connection, lead_id: str, now: datetime, days: float) -> list[datetime]:
    return list(
        conn.execute(
            select(email_sends.c.decided_at).where(
                email_sends.c.lead_id == lead_id,
                email_sends.c.status == "queued",
                email_sends.c.category == "marketing",
                email_sends.c.decided_at > now - timedelta(days=days),
            )
        ).scalars()
    )


def message_key(lead_id: str, ref: str) -> str:
    """The outbox idempotency key: the outbox never holds two emails for one (lead, ref)."""
    key = f"email:{lead_id}:{ref}"
    return key if len(key) <= 200 else "email:" + hashlib.sha256(key.encode()).hexdigest()


def _enqueue(
    conn: Connection,
    lead: Mapping[str, Any],
    cfg: MessagingFile,
    template: str,
    ref: str,
    params: Mapping[str, Any] | None,
    ctx: Any,
    now: datetime,
) -> SendResult:
    keys = signing_keys(os.environ, cfg.unsubscribe.secret_env)
    topic = compiled(ctx.workspace.root, template).model.topic
    token = make_token(lead["id"], topic, keys)
    url = unsubscribe_url(cfg.unsubscribe.base_url, token)
    try:
        email = render(template, lead, params, ctx.workspace, unsubscribe_url=url)
    except RenderError as exc:
        detail = exc.problems[0].message if exc.problems else str(exc)
        return SendResult("skipped", f"render_error: {detail}"[:300], None, None)
    key = message_key(lead["id"], ref)
    delivery_id = outbox.enqueue(
        conn,
        channel="email",
        destination=lead["email"],
        subject=email.subject,
        payload=message_payload(email, cfg, key, url, token, lead["id"], template),
        idempotency_key=key,
        now=now,
    )
    return SendResult("queued", None, None, delivery_id)


def message_payload(
    email: Any, cfg: MessagingFile, key: str, url: str, token: str, lead_id: str, template: str
) -> dict[str, Any]:
    """The outbox payload: bodies, From, and the headers mailbox providers look for."""
    links = [f"<{url}>"]
    if cfg.unsubscribe.mailto:
        links.insert(0, f"<mailto:{cfg.unsubscribe.mailto}?subject=unsubscribe%20{token}>")
    headers = {
        "List-Unsubscribe": ", ".join(links),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",  # RFC 8058 one-click
        "Message-ID": f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{cfg.sender.domain}>",
        "X-Marketops-Template": template,
    }
    if cfg.sender.reply_to:
        headers["Reply-To"] = cfg.sender.reply_to
    payload: dict[str, Any] = {
        "text": email.text,
        "mail_from": formataddr((email.from_name, cfg.sender.address)),
        "mail_headers": headers,
        "lead_id": lead_id,
        "template": template,
    }
    if email.html:
        payload["html"] = email.html
    return payload


def _record(
    conn: Connection,
    existing: Mapping[str, Any] | None,
    lead_id: str,
    ref: str,
    template: str,
    category: str,
    result: SendResult,
    now: datetime,
) -> SendResult:
    values = dict(
        template=template,
        category=category,
        status=result.status,
        reason=result.reason,
        retry_at=result.retry_at,
        delivery_id=result.delivery_id,
        decided_at=now,
    )
    if existing is not None:
        conn.execute(
            update(email_sends)
            .where(email_sends.c.id == existing["id"], email_sends.c.status == "deferred")
            .values(**values, attempts=email_sends.c.attempts + 1)
        )
        return result
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    inserted = conn.execute(
        dialect.insert(email_sends)
        .values(lead_id=lead_id, ref=ref, created_at=now, attempts=1, **values)
        .on_conflict_do_nothing(index_elements=["lead_id", "ref"])
        .returning(email_sends.c.id)
    ).scalar()
    if inserted is None:  # a concurrent call decided first: its answer stands
        row = _existing(conn, lead_id, ref)
        assert row is not None
        return _result(row)
    return result


def list_sends(
    conn: Connection, *, lead_id: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    q = select(email_sends).order_by(email_sends.c.id.desc()).limit(limit)
    if lead_id:
        q = q.where(email_sends.c.lead_id == lead_id)
    return [dict(r._mapping) for r in conn.execute(q)]
