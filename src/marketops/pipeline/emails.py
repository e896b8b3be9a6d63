"""Email syntax checks: a fast path for plain addresses, email-validator for everything else.

email-validator is the authority (RFC 5322/6531 with the IETF special-use names) but costs
~30 µs an address. Most inbound addresses are plain ASCII; this strict pattern accepts only
addresses that email-validator also accepts (tests check that on a corpus), and anything it does
not match — including every invalid address — is decided, and explained, by email-validator.
"""

from __future__ import annotations

import re
from functools import lru_cache

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}")
# the IETF special-use names email-validator rejects (RFC 6761, RFC 7686, …); all single labels
# today, so the last label of a domain decides (a set lookup instead of a suffix test per name)
_SPECIAL = frozenset(SPECIAL_USE_DOMAIN_NAMES)
_ONE_LABEL = all("." not in s for s in _SPECIAL)


def fast_ok(address: str) -> bool:
    if len(address) > 254 or not _PLAIN.fullmatch(address):
        return False
    local, _, domain = address.rpartition("@")
    if len(local) > 64 or "--" in domain:  # "xn--" labels need IDNA checks: leave to the library
        return False
    domain = domain.lower()
    if _ONE_LABEL:
        return domain.rpartition(".")[2] not in _SPECIAL
    return not any(domain == s or domain.endswith("." + s) for s in _SPECIAL)


def email_problem(value: str) -> str | None:
    """None if the address is valid, else email-validator's explanation."""
    address = value.strip()
    return None if fast_ok(address) else _library_problem(address)


# only what the fast path leaves: a cache in front of it cost more than it saved on a file of
# distinct addresses (a miss, an insert and an eviction per address)
@lru_cache(maxsize=65536)
def _library_problem(address: str) -> str | None:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None
