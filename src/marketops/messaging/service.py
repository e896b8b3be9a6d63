"""Use cases behind the CLI and the API: preview, list sends, follow an unsubscribe link."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from marketops.errors import MarketopsError, NotFound, Problem
from marketops.messaging.render import RenderedEmail, messaging_config, render
from marketops.messaging.send import list_sends
from marketops.messaging.unsubscribe import (
    TokenClaims,
    apply_unsubscribe,
    lead_for,
    masked_email,
    read_token,
    signing_keys,
)
from marketops.store.schema import leads


def find_lead(conn: Connection, *, lead_id: str | None, email: str | None) -> dict[str, Any]:
    if bool(lead_id) == bool(email):
        raise MarketopsError("name one person", [Problem("--lead/--email", "give exactly one")])
    cond = leads.c.id == lead_id if lead_id else leads.c.email == (email or "").strip().lower()
    row = conn.execute(select(leads).where(cond)).first()
    if row is None:
        raise NotFound(f"no lead with {'id ' + str(lead_id) if lead_id else 'that email'}")
    return dict(row._mapping)


def preview(
    ctx: Any,
    template: str,
    *,
    lead_id: str | None = None,
    email: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> RenderedEmail:
    """Render for a stored lead, or for nobody (every fallback shows) when neither is given."""
    lead: dict[str, Any] = {}
    if lead_id or email:
        with ctx.engine.connect() as conn:
            lead = find_lead(conn, lead_id=lead_id, email=email)
    return render(template, lead, params, ctx.workspace)


def sends(ctx: Any, *, lead_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        return list_sends(conn, lead_id=lead_id, limit=limit)


def claims_of(ctx: Any, token: str) -> TokenClaims:
    """Verified claims (BadToken if forged/malformed; MarketopsError if no key is configured)."""
    cfg = messaging_config(ctx.workspace.root)
    return read_token(token, signing_keys(os.environ, cfg.unsubscribe.secret_env))


@dataclass(frozen=True)
class UnsubscribeView:
    masked_email: str
    already: bool


def unsubscribe_view(ctx: Any, token: str) -> UnsubscribeView:
    claims = claims_of(ctx, token)
    with ctx.engine.connect() as conn:
        lead = lead_for(conn, claims)
    consent = lead["consent"] or {}
    return UnsubscribeView(masked_email(str(lead["email"])), consent.get("email") is False)  # type: ignore[union-attr]


def unsubscribe(ctx: Any, token: str, *, method: str, now: datetime) -> UnsubscribeView:
    claims = claims_of(ctx, token)
    with ctx.engine.begin() as conn:
        changed = apply_unsubscribe(conn, claims, method=method, now=now)
        lead = lead_for(conn, claims)
    return UnsubscribeView(masked_email(str(lead["email"])), not changed)


def send_test(
    ctx: Any,
    template: str,
    *,
    to: str,
    now: datetime,
    lead_id: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> int:
    """Enqueue a `[TEST]` copy to a staff address, bypassing consent, quiet hours and the cap.

    Its unsubscribe link is the preview placeholder, so clicking it changes nobody.
    """
    import uuid

    from marketops.messaging.send import message_payload
    from marketops.notify import outbox

    if "@" not in to:
        raise MarketopsError("bad address", [Problem("--to", f"{to!r} is not an email address")])
    email = preview(ctx, template, lead_id=lead_id, params=params)
    cfg = messaging_config(ctx.workspace.root)
    key = f"email-test:{uuid.uuid4().hex}"
    url = f"{cfg.unsubscribe.base_url}/u/preview"
    payload = message_payload(email, cfg, key, url, "preview", lead_id or "", template)
    with ctx.engine.begin() as conn:
        return outbox.enqueue(
            conn,
            channel="email",
            destination=to,
            subject=f"[TEST] {email.subject}",
            payload=payload,
            idempotency_key=key,
            now=now,
        )
