"""Normalize stage: canonical emails, E.164 phones, ISO countries, tidy names, company match keys."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import phonenumbers
from cleanco import basename

from marketops.pipeline.geo import country_code, region_of
from marketops.pipeline.records import CONTROL_FIELDS, CORE_FIELDS, Issue, Lead

_SPACES = re.compile(r"\s+")
_NOT_ATTRIBUTES = frozenset(CORE_FIELDS) | frozenset(CONTROL_FIELDS)
_TRUE = {"true", "1", "yes", "y", "t", "opt-in", "opted_in", "granted"}
_FALSE = {"false", "0", "no", "n", "f", "opt-out", "opted_out", "denied", "withdrawn"}
_UNSEEN = object()  # a memo's miss (None is an answer)


def _text(v: Any) -> str | None:
    if v is None:
        return None
    # = _SPACES.sub(" ", s).strip(): str.split and the regex's \s are the same whitespace
    # (Py_UNICODE_ISSPACE), at half the cost
    return " ".join(str(v).split()) or None


# `_repeated`'s answers by text (first come, no eviction: past the limit computed every time)
TEXT_MEMO_MAX = 1 << 16
_TEXTS: dict[str, str | None] = {}


def _repeated(v: Any) -> str | None:
    """`_text` of a field whose values repeat (company, title, industry, source, message,
    activity): remembered for text values, which is all `_text` reads of them."""
    if type(v) is not str:
        return _text(v)
    found = _TEXTS.get(v, _UNSEEN)
    if found is _UNSEEN:
        found = _text(v)
        if len(_TEXTS) < TEXT_MEMO_MAX:
            _TEXTS[v] = found
    return found  # type: ignore[return-value]


def _country(v: Any) -> str | None:
    """ISO alpha-2 of a country field as typed (`country_code` of its text)."""
    if type(v) is str:
        return _country_of(v)
    return country_code(_text(v))


@lru_cache(maxsize=4096)
def _country_of(v: str) -> str | None:
    return country_code(_text(v))


def normalize_email(v: str) -> str:
    return v.strip().lower()


def _case_word(w: str) -> str:
    if not w:
        return w
    low = w.lower()
    for prefix in ("mc", "o'", "d'"):
        if low.startswith(prefix) and len(w) > len(prefix):
            n = len(prefix)
            return low[:n].capitalize() + low[n:].capitalize()
    return low.capitalize()


def normalize_name(v: Any) -> str | None:
    """Trim and case a personal name; mixed case as typed (e.g. "van der Berg") is kept."""
    if type(v) is str:  # names repeat: first names, family names
        return _name_text(v)
    return _name(v)


@lru_cache(maxsize=1 << 16)
def _name_text(v: str) -> str | None:
    return _name(v)


def _name(v: Any) -> str | None:
    s = _text(v)
    if s is None:
        return None
    if s.islower() or s.isupper():
        s = " ".join("-".join(_case_word(p) for p in w.split("-")) for w in s.split(" "))
    return s


@lru_cache(maxsize=65536)
def company_key(name: str | None) -> str | None:
    """Lowercase company name without legal suffixes or punctuation: "ACME Corp., Inc." -> "acme"."""
    if not name:
        return None
    s = name
    for _ in range(3):  # "Acme Holdings Corporation, Inc." carries several suffixes
        stripped = basename(s)
        if stripped == s or not stripped:
            break
        s = stripped
    s = re.sub(r"[^\w\s&]", " ", s.lower())
    return _SPACES.sub(" ", s).strip() or None


# phonenumbers costs ~28 µs a number; a million generated leads carry ~136k distinct (number,
# country) pairs, which 65,536 entries could not hold. Answers are kept by (number, country) in
# first-come order (no eviction: past the limit new pairs are parsed every time); batch workers
# hand each other their new answers (`services.batch_phones`) through `phone_answers`/`learn`.
PHONE_MEMO_MAX = 1 << 18
# phonenumbers compiles its metadata's patterns through `re`, whose cache (512 patterns) a file
# of ~30 countries overflows: it kept recompiling them. Its pattern cache (bounded by the
# metadata; recent releases) keeps each compiled once: 24.6 -> 21.4 µs a parse, same answers.
getattr(phonenumbers, "enable_pattern_cache", lambda: None)()
_E164: dict[tuple[str, str | None], str | None] = {}


def phone_e164(phone: str, country: str | None) -> str | None:
    """E.164 form of a valid number (`country`: ISO alpha-2 for national numbers), else None."""
    key = (phone, country)
    found = _E164.get(key, _UNSEEN)
    if found is _UNSEEN:
        found = _parse_e164(phone, country)
        if len(_E164) < PHONE_MEMO_MAX:
            _E164[key] = found
    return found  # type: ignore[return-value]


def _parse_e164(phone: str, country: str | None) -> str | None:
    try:
        num = phonenumbers.parse(phone, country or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(num):
        return None
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def phone_answers() -> dict[tuple[str, str | None], str | None]:
    """This process's phone answers by (number, country), oldest first (read only)."""
    return _E164


def learn_phones(answers: Iterable[tuple[str, str | None, str | None]]) -> None:
    """Answers `phone_e164` gave in another process of the same code: (number, country, E.164)."""
    for phone, country, e164 in answers:
        if len(_E164) >= PHONE_MEMO_MAX:
            return
        _E164.setdefault((phone, country), e164)


def _int(v: Any) -> int | None:
    if v is None or v == "":
        return None
    try:
        return int(float(str(v).replace(",", "")))
    except ValueError:
        return None


def _bool(v: Any) -> bool | None:
    if isinstance(v, bool):
        return v
    if v is None:
        return None
    s = str(v).strip().lower()
    return True if s in _TRUE else False if s in _FALSE else None


def parse_time(v: Any, default: datetime) -> datetime:
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=UTC)
    if v in (None, ""):
        return default
    try:
        t = datetime.fromisoformat(str(v).strip().replace("Z", "+00:00"))
    except ValueError:
        return default
    return t if t.tzinfo else t.replace(tzinfo=UTC)


_CONSENT = (("email", "consent_email"), ("phone", "consent_phone"))


def normalize(raw: Mapping[str, Any], issues: list[Issue], now: datetime) -> Lead:
    """Build the canonical Lead. Contract warnings and normalizer doubts become lead warnings."""
    warnings = [i.as_dict() for i in issues if i.severity != "error"] if issues else []
    get = raw.get
    original = str(get("email") or "")
    country = _country(get("country"))
    phone = _text(get("phone"))
    e164 = phone_e164(phone, country) if phone else None
    if phone and e164 is None:
        warnings.append(
            {
                "field": "phone",
                "rule": "e164",
                "value": phone,
                "severity": "warning",
                "message": f"not a valid phone number for country {country or 'unknown'}",
            }
        )
    company = _repeated(get("company"))
    consent = {}
    for channel, key in _CONSENT:
        b = _bool(get(key))
        if b is not None:
            consent[channel] = b
    attributes = (
        {k: v for k, v in raw.items() if k not in _NOT_ATTRIBUTES and v not in (None, "")}
        if raw.keys() - _NOT_ATTRIBUTES
        else {}
    )
    # positional, in `Lead`'s field order: keywords cost a slotted dataclass twice as much
    return Lead(
        normalize_email(original),  # email
        original,  # email_original
        normalize_name(get("first_name")),
        normalize_name(get("last_name")),
        _repeated(get("title")),
        company,
        company_key(company),
        None,  # company_domain: enrich sets it
        phone,
        e164,  # phone_e164
        country,
        region_of(country),
        _repeated(get("industry")),
        _int(get("employees")),
        _repeated(get("source")),
        _repeated(get("message")),
        _repeated(get("activity")) or "form_fill",
        parse_time(get("occurred_at"), now),
        consent,
        {},  # flags
        warnings,
        attributes,
    )
