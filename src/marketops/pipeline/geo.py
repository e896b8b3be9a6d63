"""Countries to ISO 3166 alpha-2 (pycountry) and the sales regions they belong to."""

from __future__ import annotations

from functools import lru_cache

import pycountry

# Common names people type that pycountry's official names do not cover.
_ALIASES = {
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "united states of america": "US",
    "america": "US",
    "uk": "GB",
    "u.k.": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "great britain": "GB",
    "britain": "GB",
    "deutschland": "DE",
    "holland": "NL",
    "the netherlands": "NL",
    "south korea": "KR",
    "korea": "KR",
    "russia": "RU",
    "uae": "AE",
    "czech republic": "CZ",
    "vietnam": "VN",
    "iran": "IR",
    "turkey": "TR",
    "españa": "ES",
}

_NA = {"US", "CA", "PR"}
_LATAM = set(
    [
        "MX",
        "GT",
        "BZ",
        "SV",
        "HN",
        "NI",
        "CR",
        "PA",
        "CU",
        "DO",
        "HT",
        "JM",
        "TT",
        "BS",
        "BB",
        "CO",
        "VE",
        "EC",
        "PE",
        "BO",
        "BR",
        "PY",
        "UY",
        "AR",
        "CL",
        "GY",
        "SR",
    ]
)
_APAC = set(
    [
        "CN",
        "JP",
        "KR",
        "KP",
        "TW",
        "HK",
        "MO",
        "MN",
        "IN",
        "PK",
        "BD",
        "LK",
        "NP",
        "BT",
        "MV",
        "AF",
        "SG",
        "MY",
        "ID",
        "TH",
        "VN",
        "PH",
        "KH",
        "LA",
        "MM",
        "BN",
        "TL",
        "AU",
        "NZ",
        "PG",
        "FJ",
        "SB",
        "VU",
        "WS",
        "TO",
        "KI",
        "FM",
        "MH",
        "NR",
        "PW",
        "TV",
        "KZ",
        "UZ",
        "KG",
        "TJ",
        "TM",
    ]
)


@lru_cache(maxsize=4096)
def country_code(value: str | None) -> str | None:
    """ISO alpha-2 for a code (alpha-2/alpha-3) or an English name; None when unknown."""
    if value is None:
        return None
    v = value.strip()
    if not v:
        return None
    alias = _ALIASES.get(v.casefold())
    if alias:
        return alias
    try:
        return pycountry.countries.lookup(v).alpha_2
    except LookupError:
        return None


def region_of(alpha2: str | None) -> str | None:
    if not alpha2:
        return None
    if alpha2 in _NA:
        return "NA"
    if alpha2 in _LATAM:
        return "LATAM"
    if alpha2 in _APAC:
        return "APAC"
    return "EMEA"
