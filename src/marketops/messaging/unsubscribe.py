"""Unsubscribe links: HMAC-signed tokens (lead id + topic), and what following one does.

The token is the credential: `base64url(lead_id:topic).base64url(HMAC-SHA256(key, …)[:16])`, keyed
by `MARKETOPS_SECRET_KEY` (`<NAME>_PREVIOUS` is also accepted while a key is rotated). A forged or
altered token fails verification before the store is asked. Unsubscribing withdraws email consent
on the lead, records it in the lead's history and in `email_unsubscribes`; doing it twice is
harmless.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from marketops.errors import MarketopsError, NotFound, Problem
from marketops.notify.senders import secrets_from_env
from marketops.store.schema import lead_events, leads
from marketops.store.tables_messaging import email_unsubscribes

_CONTEXT = b"marketops-unsubscribe-v1|"
_MAC_BYTES = 16


class BadToken(MarketopsError):
    """The token is malformed or its signature does not verify."""


@dataclass(frozen=True)
class TokenClaims:
    lead_id: str
    topic: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signing_keys(env: Mapping[str, str], name: str) -> list[bytes]:
    keys = secrets_from_env(env, name)
    if not keys:
        raise MarketopsError(
            "unsubscribe links cannot be signed",
            [Problem(name, "environment variable is unset", "set it to a long random string")],
        )
    return [k.encode() for k in keys]


def _mac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, _CONTEXT + body, hashlib.sha256).digest()[:_MAC_BYTES]


def make_token(lead_id: str, topic: str, keys: list[bytes]) -> str:
    body = f"{lead_id}:{topic}".encode()
    return f"{_b64(body)}.{_b64(_mac(keys[0], body))}"


def read_token(token: str, keys: list[bytes]) -> TokenClaims:
    """The claims of a token signed with any of `keys`; BadToken otherwise."""
    try:
        body_part, mac_part = token.split(".")
        body, mac = _unb64(body_part), _unb64(mac_part)
        lead_id, topic = body.decode().split(":")
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadToken("malformed unsubscribe token") from exc
    if not lead_id or not topic:
        raise BadToken("malformed unsubscribe token")
    if not any(hmac.compare_digest(mac, _mac(k, body)) for k in keys):
        raise BadToken("unsubscribe token signature does not verify")
    return TokenClaims(lead_id, topic)


def unsubscribe_url(base_url: str, token: str) -> str:
    return f"{base_url}/u/{token}"


def masked_email(email: str) -> str:
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}***@{domain}"


def lead_for(conn: Connection, claims: TokenClaims) -> Mapping[str, object]:
    row = conn.execute(
        select(leads.c.id, leads.c.email, leads.c.consent).where(leads.c.id == claims.lead_id)
    ).first()
    if row is None:
        raise NotFound("this unsubscribe link points to no one we know")
    return row._mapping


def apply_unsubscribe(conn: Connection, claims: TokenClaims, *, method: str, now: datetime) -> bool:
    """Withdraw email consent; True if it was a change (False: already unsubscribed)."""
    lead = lead_for(conn, claims)
    consent = dict(lead["consent"] or {})  # type: ignore[arg-type]
    before = consent.get("email")
    already = before is False
    conn.execute(
        insert(email_unsubscribes).values(
            lead_id=claims.lead_id, topic=claims.topic, method=method, at=now
        )
    )
    if already:
        return False
    consent["email"] = False
    conn.execute(
        update(leads).where(leads.c.id == claims.lead_id).values(consent=consent, updated_at=now)
    )
    conn.execute(
        insert(lead_events).values(
            lead_id=claims.lead_id,
            at=now,
            kind="consent",
            actor="unsubscribe-link",
            data={
                "channel": "email",
                "granted": False,
                "from": before,
                "topic": claims.topic,
                "via": method,
            },
        )
    )
    return True


def has_unsubscribed(conn: Connection, lead_id: str) -> bool:
    return (
        conn.execute(
            select(email_unsubscribes.c.id).where(email_unsubscribes.c.lead_id == lead_id).limit(1)
        ).first()
        is not None
    )
