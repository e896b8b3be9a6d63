"""Retry policy: full-jitter exponential backoff, Retry-After, dead-lettering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from marketops.notify.config import RetryPolicy
from marketops.notify.policy import SendResult, backoff_delay_s, classify_http, decide

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=5, base_delay_s=10, max_delay_s=60)


def test_backoff_ceiling_doubles_then_caps() -> None:
    # rand → 1 gives the ceiling: 10, 20, 40, then capped at 60
    ceilings = [backoff_delay_s(n, POLICY, 0.999999) for n in range(1, 6)]
    assert [round(c) for c in ceilings] == [10, 20, 40, 60, 60]
    assert backoff_delay_s(3, POLICY, 0.0) == 0.0
    assert backoff_delay_s(3, POLICY, 0.5) == 20.0


def test_decide() -> None:
    ok = decide(SendResult(True, 200), 1, POLICY, NOW, 0.5)
    assert (ok.status, ok.outcome, ok.next_attempt_at) == ("delivered", "delivered", None)
    retry = decide(SendResult(False, 503), 2, POLICY, NOW, 0.5)
    assert retry.status == "pending" and retry.next_attempt_at == NOW + timedelta(seconds=10)
    last = decide(SendResult(False, 503), 5, POLICY, NOW, 0.5)
    assert (last.status, last.outcome) == ("dead", "dead")
    permanent = decide(SendResult(False, 404, permanent=True), 1, POLICY, NOW, 0.5)
    assert permanent.status == "dead"
    # Retry-After is a floor, capped at max_delay
    slow = decide(SendResult(False, 429, retry_after_s=45), 1, POLICY, NOW, 0.1)
    assert slow.next_attempt_at == NOW + timedelta(seconds=45)
    capped = decide(SendResult(False, 429, retry_after_s=9999), 1, POLICY, NOW, 0.1)
    assert capped.next_attempt_at == NOW + timedelta(seconds=60)


def test_classify_http() -> None:
    assert classify_http(200) == (True, False)
    assert classify_http(204) == (True, False)
    assert classify_http(500) == (False, False)
    assert classify_http(503) == (False, False)
    assert classify_http(429) == (False, False)
    assert classify_http(408) == (False, False)
    assert classify_http(400) == (False, True)
    assert classify_http(410) == (False, True)
