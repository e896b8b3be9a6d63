"""Matching features of one record: the columns comparisons and blocking rules read.

Pure and shared by batch (a DataFrame built from these dicts) and real time (one dict), so a
pair is compared the same way in both. Strings are lower-cased, accents folded and punctuation
dropped; the email local part loses dots and `+tags` (jane.doe+x@ == janedoe@).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from marketops.pipeline.normalize import company_key, phone_e164

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_NON_ALPHA = re.compile(r"[^a-z]+")
_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")


@lru_cache(maxsize=262144)
def _company_key(name: str) -> str | None:
    return company_key(name)


def _phone(phone: str, country: Any) -> str | None:
    """E.164 via phonenumbers; a number already in E.164 form is taken as it is (fast path)."""
    compact = phone.replace(" ", "").replace("-", "")
    if _E164.match(compact):
        return compact
    return phone_e164(phone, country) or _alnum(phone)


def fold(value: Any) -> str | None:
    """Lower-case, accents folded, trimmed; None for empty."""
    if value is None:
        return None
    text = str(value).strip()
    if not text or text.lower() in ("nan", "none", "null"):
        return None
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return text or None


def _alpha(value: Any) -> str | None:
    text = fold(value)
    return (_NON_ALPHA.sub("", text) or None) if text else None


def _alnum(value: Any) -> str | None:
    text = fold(value)
    return (_NON_ALNUM.sub("", text) or None) if text else None


@lru_cache(maxsize=1)
def _nicknamer():  # the `nicknames` data set (hand-curated English names and nicknames)
    from nicknames import NickNamer

    return NickNamer()


@lru_cache(maxsize=65536)
def name_forms(first_name: str | None) -> tuple[str, ...]:
    """The name and the formal names it is a nickname of: bill -> (bill, william, will, …)."""
    if not first_name:
        return ()
    return tuple(sorted({first_name, *_nicknamer().canonicals_of(first_name)}))


def split_email(email: str | None) -> tuple[str | None, str | None]:
    if not email or "@" not in email:
        return None, None
    local, _, domain = email.rpartition("@")
    local = local.split("+", 1)[0]
    return (_alnum(local) or None), (domain or None)


def features(record: Mapping[str, Any], extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """Lead-shaped record (store row, file row or API body) -> matching features.

    Reads `email`, `first_name`, `last_name`, `company_key` (or `company`), `phone_e164` (or
    `phone` with `country`), `city`, `postcode` (top level or in `attributes`); `extra` names
    further columns to carry, folded (for data sets with other fields, e.g. FEBRL's).
    """
    attrs = record.get("attributes") or {}

    def get(name: str) -> Any:
        value = record.get(name)
        return attrs.get(name) if value in (None, "") else value

    email = fold(get("email"))
    local, domain = split_email(email)
    first = _alpha(get("first_name"))
    if local is not None and local == first:
        # "jane@…" repeats the first name: counting it again as email evidence would make two
        # Janes at different companies look like one person (conditional independence breaks)
        local = None
    ckey = get("company_key") or (_company_key(str(get("company"))) if get("company") else None)
    phone = get("phone_e164")
    if not phone and get("phone"):
        phone = _phone(str(get("phone")), get("country"))
    postcode = fold(get("postcode"))
    out = {
        "email": email,
        "email_local": local,
        "email_domain": domain,
        "first_name": first,
        "first_names": list(name_forms(first)),
        "first_initial": first[0] if first else None,
        "last_name": _alpha(get("last_name")),
        "company_key": _alnum(ckey),
        "phone": phone or None,
        "city": _alpha(get("city")),
        "postcode": postcode.replace(" ", "") if postcode else None,
    }
    for name in extra:
        out[name] = fold(get(name))
    return out


def feature_frame(records: Any, id_column: str = "unique_id", extra: tuple[str, ...] = ()):
    """A pandas frame of features for an iterable of records; `unique_id` from `id_column`."""
    import pandas as pd

    rows = []
    for rec in records:
        f = features(rec, extra)
        f["unique_id"] = str(rec[id_column])
        rows.append(f)
    return pd.DataFrame(rows)
