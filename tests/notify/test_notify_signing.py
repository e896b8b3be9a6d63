"""Webhook signatures: HMAC-SHA256 over "{timestamp}.{body}", checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from marketops.notify.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    check,
    sign,
    signature_headers,
    verify,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
BODY = b'{"event":"lead.routed","id":"L1"}'


def test_hmac_matches_rfc4231_test_case_2() -> None:
    # RFC 4231 §4.3 (HMAC-SHA-256, test case 2) pins the primitive; then the scheme is that
    # primitive over "{timestamp}.{body}".
    mac = hmac.new(b"Jefe", b"what do ya want for nothing?", hashlib.sha256).hexdigest()
    assert mac == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    ts = 1764072000
    expected = hmac.new(b"Jefe", f"{ts}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign("Jefe", ts, BODY) == f"v1={expected}"


def test_round_trip_and_rejections() -> None:
    h = signature_headers(["s3cret"], BODY, NOW)
    assert h[TIMESTAMP_HEADER] == str(int(NOW.timestamp()))
    ok = dict(timestamp=h[TIMESTAMP_HEADER], signature=h[SIGNATURE_HEADER])
    assert verify("s3cret", BODY, **ok, now=NOW)
    assert verify("s3cret", BODY, **ok, now=NOW + timedelta(seconds=299))
    assert not verify("s3cret", BODY, **ok, now=NOW + timedelta(seconds=301))  # replayed later
    assert not verify("other", BODY, **ok, now=NOW)  # wrong secret
    assert not verify("s3cret", BODY + b" ", **ok, now=NOW)  # tampered body
    assert not verify("s3cret", BODY, h[TIMESTAMP_HEADER], None, now=NOW)
    assert not verify("s3cret", BODY, "yesterday", h[SIGNATURE_HEADER], now=NOW)
    assert not verify([], BODY, **ok, now=NOW)
    with pytest.raises(SignatureError, match="stale"):
        check("s3cret", BODY, **ok, now=NOW + timedelta(hours=1))


def test_rotation_signs_with_both_and_accepts_either() -> None:
    h = signature_headers(["new", "old"], BODY, NOW)
    assert h[SIGNATURE_HEADER].count("v1=") == 2
    for secret in ("new", "old"):
        assert verify(secret, BODY, h[TIMESTAMP_HEADER], h[SIGNATURE_HEADER], now=NOW)
    # a receiver that knows both secrets accepts a request signed only with the old one
    only_old = signature_headers(["old"], BODY, NOW)
    assert verify(
        ["new", "old"], BODY, only_old[TIMESTAMP_HEADER], only_old[SIGNATURE_HEADER], now=NOW
    )
