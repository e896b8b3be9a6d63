"""Validate one Segment event and derive what it means for us. Pure: no I/O, no clock.

Shape: https://segment.com/docs/connections/spec/common/ (messageId, anonymousId/userId,
timestamp, context.campaign, context.page, context.traits) with the `track`, `identify` and
`page` types. A page (or track) with UTM parameters — `context.campaign` (Segment's names:
name/source/medium/content/term) or the `utm_*` query of the page URL — becomes a touchpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, urlsplit

from marketops.pipeline.emails import email_problem
from marketops.pipeline.normalize import normalize_email
from marketops.taxonomy.channels import Ruleset, classify

TYPES = ("track", "identify", "page")
MAX_ID = 200
# track events that open and close opportunities (properties.opportunity_id, properties.amount)
OPPORTUNITY_EVENTS = {
    "Opportunity Created": "open",
    "Opportunity Won": "won",
    "Opportunity Lost": "lost",
}


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass(frozen=True)
class Touch:
    channel: str
    source: str | None
    medium: str | None
    campaign: str | None
    content: str | None
    touch_type: str


@dataclass(frozen=True)
class OpportunityChange:
    id: str
    status: str  # open, won, lost
    amount: Decimal | None


@dataclass(frozen=True)
class Event:
    message_id: str
    type: str
    event: str | None
    anonymous_id: str | None
    user_id: str | None
    ts: datetime
    email: str | None  # normalized traits.email (identify, or context.traits on any type)
    touch: Touch | None
    opportunity: OpportunityChange | None
    payload: dict[str, Any]


def _str_id(raw: dict[str, Any], key: str, errors: list[FieldError]) -> str | None:
    v = raw.get(key)
    if v is None or v == "":
        return None
    if isinstance(v, int | float) and not isinstance(v, bool):
        v = str(v)  # Segment libraries accept numeric ids
    if not isinstance(v, str):
        errors.append(FieldError(key, "must be a string"))
        return None
    if len(v) > MAX_ID:
        errors.append(FieldError(key, f"longer than {MAX_ID} characters"))
        return None
    return v


def _obj(raw: dict[str, Any], key: str, errors: list[FieldError], where: str = "") -> dict:
    v = raw.get(key)
    if v is None:
        return {}
    if not isinstance(v, dict):
        errors.append(FieldError(where + key, "must be an object"))
        return {}
    return v


def _time(raw: dict[str, Any], errors: list[FieldError], received: datetime) -> datetime:
    for key in ("timestamp", "originalTimestamp"):
        v = raw.get(key)
        if v is None:
            continue
        if not isinstance(v, str):
            errors.append(FieldError(key, "must be an ISO 8601 string"))
            return received
        try:
            t = datetime.fromisoformat(v.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            errors.append(FieldError(key, "not an ISO 8601 timestamp, e.g. 2026-11-25T10:00:00Z"))
            return received
        if t.tzinfo is None:
            errors.append(FieldError(key, "timestamp has no time zone: append Z for UTC"))
            return received
        return t
    return received  # Segment's own rule: no timestamp means "when it was received"


def _clean(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None


def utm_of(properties: dict[str, Any], context: dict[str, Any]) -> dict[str, str | None]:
    """UTM values from context.campaign, else from the page URL's query string."""
    camp = context.get("campaign") if isinstance(context.get("campaign"), dict) else {}
    out = {
        "source": _clean(camp.get("source")),
        "medium": _clean(camp.get("medium")),
        "campaign": _clean(camp.get("name") or camp.get("campaign")),
        "content": _clean(camp.get("content")),
    }
    if any(out.values()):
        return out
    page = context.get("page") if isinstance(context.get("page"), dict) else {}
    url = properties.get("url") or page.get("url")
    if isinstance(url, str) and "utm_" in url:
        q = parse_qs(urlsplit(url).query)
        for key in out:
            vals = q.get(f"utm_{key}")
            out[key] = _clean(vals[0]) if vals else None
    return out


def parse(
    raw: Any, *, received: datetime, ruleset: Ruleset | None = None
) -> tuple[Event | None, list[FieldError]]:
    """(event, []) when valid, else (None, every field error found)."""
    if not isinstance(raw, dict):
        return None, [FieldError("(body)", "an event must be a JSON object")]
    errors: list[FieldError] = []
    kind = raw.get("type")
    if kind not in TYPES:
        errors.append(FieldError("type", f"must be one of {', '.join(TYPES)}"))
    message_id = _str_id(raw, "messageId", errors)
    if message_id is None and not any(e.field == "messageId" for e in errors):
        errors.append(FieldError("messageId", "missing: needed to make delivery idempotent"))
    anon = _str_id(raw, "anonymousId", errors)
    user = _str_id(raw, "userId", errors)
    if anon is None and user is None and not errors:
        errors.append(FieldError("anonymousId", "either anonymousId or userId is required"))
    ts = _time(raw, errors, received)
    props = _obj(raw, "properties", errors)
    context = _obj(raw, "context", errors)
    traits = _obj(raw, "traits", errors) or _obj(context, "traits", errors, "context.")
    name = raw.get("event")
    if kind == "track" and (not isinstance(name, str) or not name.strip()):
        errors.append(FieldError("event", "a track event needs its event name"))
    email = None
    if traits.get("email") not in (None, ""):
        value = traits["email"]
        where = "traits.email" if "traits" in raw else "context.traits.email"
        problem = email_problem(value) if isinstance(value, str) else "must be a string"
        if problem:
            errors.append(FieldError(where, problem))
        else:
            email = normalize_email(value)
    opp = None
    if kind == "track" and isinstance(name, str) and name in OPPORTUNITY_EVENTS:
        opp = _opportunity(props, OPPORTUNITY_EVENTS[name], errors)
    if errors:
        return None, errors
    touch = None
    if kind in ("page", "track"):
        utm = utm_of(props, context)
        if utm["source"] or utm["medium"] or utm["campaign"]:
            channel = classify(utm["source"], utm["medium"], utm["campaign"], ruleset=ruleset)
            touch_type = "visit" if kind == "page" else _snake(str(name))
            touch = Touch(
                channel, utm["source"], utm["medium"], utm["campaign"], utm["content"], touch_type
            )
    assert message_id is not None and kind is not None
    return (
        Event(
            message_id,
            kind,
            name if kind == "track" else None,
            anon,
            user,
            ts,
            email,
            touch,
            opp,
            raw,
        ),
        [],
    )


def _snake(name: str) -> str:
    return "_".join(name.strip().lower().split())[:100]


def _opportunity(
    props: dict[str, Any], status: str, errors: list[FieldError]
) -> OpportunityChange | None:
    own: list[FieldError] = []
    oid = _str_id(props, "opportunity_id", own)
    errors.extend(FieldError(f"properties.{e.field}", e.message) for e in own)
    if oid is None and not own:
        errors.append(FieldError("properties.opportunity_id", "missing"))
    amount = None
    raw = props.get("amount")
    if raw is not None and raw != "":
        try:
            amount = Decimal(str(raw))
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
            errors.append(
                FieldError("properties.amount", "not a money amount (at most 2 decimals)")
            )
            amount = None
    if oid is None:
        return None
    return OpportunityChange(oid, status, amount)
