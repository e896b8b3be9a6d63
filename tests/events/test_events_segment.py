"""The pure Segment parser: field errors, UTM sources, channels, emails, opportunities."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from marketops.events.segment import parse

RECEIVED = datetime(2026, 11, 2, tzinfo=UTC)


def _fields(raw) -> set[str]:
    ev, errors = parse(raw, received=RECEIVED)
    assert ev is None
    return {e.field for e in errors}


def test_every_field_error_is_reported():
    assert _fields({"type": "alias"}) == {"type", "messageId"}
    assert _fields({"type": "page", "messageId": "m"}) == {"anonymousId"}
    assert _fields(
        {"type": "page", "messageId": "m", "userId": "u", "timestamp": "2026-10-01T10:00:00"}
    ) == {"timestamp"}  # no zone
    assert _fields(
        {"type": "identify", "messageId": "m", "userId": "u", "traits": {"email": "not-an-email"}}
    ) == {"traits.email"}
    assert _fields(
        {"type": "track", "messageId": "m", "userId": "u", "event": "Opportunity Won"}
    ) == {"properties.opportunity_id"}
    assert _fields({"type": "page", "messageId": "m", "userId": "u", "properties": []}) == {
        "properties"
    }
    assert _fields(["not", "an", "object"]) == {"(body)"}


def test_utm_from_context_campaign_or_url_and_ga4_channel():
    ev, _ = parse(
        {
            "type": "page",
            "messageId": "m",
            "anonymousId": 42,  # numeric ids are accepted as Segment libraries send them
            "context": {"campaign": {"source": "facebook", "medium": "paid_social", "name": "q4"}},
        },
        received=RECEIVED,
    )
    assert ev.anonymous_id == "42" and ev.ts == RECEIVED  # no timestamp: when received
    assert (ev.touch.channel, ev.touch.campaign, ev.touch.touch_type) == (
        "Paid Social",
        "q4",
        "visit",
    )
    ev, _ = parse(
        {
            "type": "track",
            "messageId": "m",
            "userId": "u",
            "event": "Webinar Registered",
            "timestamp": "2026-10-01T10:00:00+02:00",
            "context": {
                "page": {"url": "https://a.example.com/?utm_source=newsletter&utm_medium=email"}
            },
        },
        received=RECEIVED,
    )
    assert (ev.touch.channel, ev.touch.touch_type) == ("Email", "webinar_registered")
    assert ev.ts.utcoffset().total_seconds() == 7200
    ev, _ = parse({"type": "page", "messageId": "m", "userId": "u"}, received=RECEIVED)
    assert ev.touch is None  # an untagged visit is not a touchpoint


def test_email_normalized_and_opportunity_amount_decimal():
    ev, _ = parse(
        {
            "type": "track",
            "messageId": "m",
            "userId": "u",
            "event": "Opportunity Created",
            "context": {"traits": {"email": " Ann@Example.COM "}},
            "properties": {"opportunity_id": "OPP-9", "amount": 1250.5},
        },
        received=RECEIVED,
    )
    assert ev.email == "ann@example.com"
    assert (ev.opportunity.id, ev.opportunity.status, ev.opportunity.amount) == (
        "OPP-9",
        "open",
        Decimal("1250.5"),
    )
