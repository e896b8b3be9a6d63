"""HMAC-SHA256 signatures for webhooks, outbound and inbound.

The signed string is `"{timestamp}.{body}"` (timestamp: Unix seconds, body: the exact bytes sent),
so a receiver can reject both tampered bodies and replays older than a tolerance window. Headers:

    X-Marketops-Timestamp: 1764093600
    X-Marketops-Signature: v1=<hex hmac-sha256>

Several `v1=` values separated by commas are accepted, so a secret can be rotated: sign with both
the old and the new secret for a while. The scheme follows Stripe's and Slack's.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime

from marketops.errors import MarketopsError, Problem

TIMESTAMP_HEADER = "X-Marketops-Timestamp"
SIGNATURE_HEADER = "X-Marketops-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
VERSION = "v1"


class SignatureError(MarketopsError):
    """An inbound request's signature is missing, stale or wrong."""


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def sign(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """The header value `v1=<hex>` for `body` sent at `timestamp` (Unix seconds)."""
    mac = hmac.new(_key(secret), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"{VERSION}={mac.hexdigest()}"


def signature_headers(secrets: Iterable[str | bytes], body: bytes, now: datetime) -> dict[str, str]:
    """Timestamp and signature headers; one `v1=` entry per secret (rotation)."""
    ts = int(now.timestamp())
    return {
        TIMESTAMP_HEADER: str(ts),
        SIGNATURE_HEADER: ",".join(sign(s, ts, body) for s in secrets),
    }


def check(
    secrets: str | bytes | Iterable[str | bytes],
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    now: datetime,
    tolerance_s: int = 300,
) -> None:
    """Raise SignatureError unless one `v1=` value matches one secret within the time window."""
    if isinstance(secrets, str | bytes):
        secrets = [secrets]
    keys = [s for s in secrets if s]
    if not keys:
        raise SignatureError(
            "no signing secret configured",
            [Problem("signing.secret_env", "the environment variable is empty or unset")],
        )
    if not timestamp or not signature:
        raise SignatureError(
            "unsigned request",
            [Problem(f"{TIMESTAMP_HEADER}/{SIGNATURE_HEADER}", "header missing")],
        )
    try:
        ts = int(timestamp)
    except ValueError:
        raise SignatureError(
            "bad timestamp", [Problem(TIMESTAMP_HEADER, "not Unix seconds")]
        ) from None
    if abs(now.timestamp() - ts) > tolerance_s:
        raise SignatureError(
            "stale signature",
            [
                Problem(
                    TIMESTAMP_HEADER, f"more than {tolerance_s} s from now", "check clocks (NTP)"
                )
            ],
        )
    given = [
        part.strip().split("=", 1)[1]
        for part in signature.split(",")
        if part.strip().startswith(VERSION + "=")
    ]
    for key in keys:
        expected = sign(key, ts, body).split("=", 1)[1]
        # compare_digest: constant time, so the signature cannot be guessed byte by byte
        if any(hmac.compare_digest(expected, g) for g in given):
            return
    raise SignatureError("signature mismatch", [Problem(SIGNATURE_HEADER, "no value matches")])


def verify(
    secrets: str | bytes | Iterable[str | bytes],
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    now: datetime,
    tolerance_s: int = 300,
) -> bool:
    """True when the request is signed by one of `secrets` within `tolerance_s` of `now`."""
    try:
        check(secrets, body, timestamp, signature, now=now, tolerance_s=tolerance_s)
    except SignatureError:
        return False
    return True
