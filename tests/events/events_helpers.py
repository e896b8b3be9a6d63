"""Segment events and a lead capture for the events tests."""

from __future__ import annotations

from datetime import UTC, datetime

from marketops.services.capture import Batch, capture

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
EMAIL = "Ann.Lee@Initech.example.com"


def capture_lead(ctx, email: str = EMAIL) -> str:
    raw = {"email": email, "first_name": "Ann", "last_name": "Lee", "company": "Initech"}
    out = capture(ctx, Batch([raw], "test", [None], [None]), NOW)
    return out[0].lead_id


def page(mid: str, anon: str, ts: str, url: str) -> dict:
    return {
        "type": "page",
        "messageId": mid,
        "anonymousId": anon,
        "timestamp": ts,
        "properties": {"url": url},
    }


def identify(mid: str, anon: str, email: str = EMAIL, user: str | None = "u-1") -> dict:
    return {
        "type": "identify",
        "messageId": mid,
        "anonymousId": anon,
        "userId": user,
        "timestamp": "2026-10-03T10:00:00Z",
        "traits": {"email": email},
    }


def opp(mid: str, name: str, oid: str, ts: str, amount: str | None = None, user="u-1") -> dict:
    props = {"opportunity_id": oid}
    if amount is not None:
        props["amount"] = amount
    return {
        "type": "track",
        "messageId": mid,
        "userId": user,
        "event": name,
        "timestamp": ts,
        "properties": props,
    }
