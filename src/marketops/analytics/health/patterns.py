"""Regular expressions and lookup tables that run inside the engine (RE2 on DuckDB, ARE on PostgreSQL).

Written in the subset both dialects read the same way (no lookarounds, no \\b, no \\d in brackets),
and kept equivalent to the pipeline's Python checks; docs/data-health.md lists where they differ.
"""

from __future__ import annotations

import re
from functools import cache

from email_validator import SPECIAL_USE_DOMAIN_NAMES

# The pipeline's email fast path (marketops.pipeline.emails._PLAIN), anchored.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL = rf"^{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}$"
# email-validator rejects the IETF special-use names (RFC 6761, RFC 7686) and the fast path
# leaves "--" in the domain (IDNA) to it: one case-insensitive pattern for both rejections.
EMAIL_REJECT = (
    r"(?i)@(?:[^@]*--|(?:[^@]*\.)?(?:"
    + "|".join(re.escape(s) for s in SPECIAL_USE_DOMAIN_NAMES)
    + r")$)"
)
EMAIL_LOCAL_MAX = 64

E164 = r"^\+[1-9][0-9]{1,14}$"
# A raw phone, ignoring spaces, dots, dashes, slashes and brackets: international (+ and 7-15
# digits) or national (7-15 digits), optionally with an extension "x123". One pattern that skips
# the separators, so no rewrite of the value is needed (3x faster than replace-then-match).
PHONE_FORMATTING = r"[ \t().\-/]"
PHONE_SEPARATORS = " \t().-/"  # the same characters, for translate()
_SEP = r"[ \t().\-/]*"
PHONE_SHAPE = (
    rf"(?i)^{_SEP}(?:\+{_SEP}[1-9]{_SEP}(?:[0-9]{_SEP}){{6,14}}|(?:[0-9]{_SEP}){{7,15}})"
    rf"(?:x{_SEP}(?:[0-9]{_SEP}){{1,6}})?$"
)
WHITESPACE = (" ", "\t", "\n", "\r")

INTEGER = r"^[+-]?[0-9][0-9,]*(?:\.0*)?$"
NUMBER = r"^[+-]?(?:[0-9][0-9,]*(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
ISO_DATETIME = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?(?:Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?$"
)
ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
URL = r"^https?://[^ \t/?#]+\.[^ \t]+$"
BOOLEANS = ("true", "false", "1", "0", "yes", "no", "y", "n", "t", "f")  # pipeline.validate._BOOL
TRUE_WORDS = ("true", "1", "yes", "y", "t")
WORD_CHARS = "A-Za-z0-9_"


@cache
def country_lookup() -> dict[str, tuple[str, str | None]]:
    """Lowercased spelling -> (ISO alpha-2, calling code): what `pipeline.geo.country_code` accepts.

    pycountry's codes and names plus the pipeline's aliases ("uk", "usa", "deutschland"...).
    """
    import phonenumbers
    import pycountry

    from marketops.pipeline.geo import _ALIASES

    dial: dict[str, str] = {}
    for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items():
        for r in regions:
            dial.setdefault(r, str(code))
    out: dict[str, tuple[str, str | None]] = {}
    for c in pycountry.countries:
        for key, value in c._fields.items():
            if key != "flag" and isinstance(value, str):
                out.setdefault(value.lower(), (c.alpha_2, dial.get(c.alpha_2)))
    for alias, a2 in _ALIASES.items():
        out.setdefault(alias.lower(), (a2, dial.get(a2)))
    return out
