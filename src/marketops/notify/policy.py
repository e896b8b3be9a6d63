"""Pure retry decisions: which failures are worth retrying, and when to try again.

Backoff is exponential with "full jitter" (Brooker, "Exponential Backoff And Jitter", AWS
Architecture Blog, 2015): the n-th retry waits a uniform random time in
[0, min(max_delay, base · 2^(n-1))]. Spreading retries that way stops many failed deliveries from
hitting a recovering receiver at the same instant. A receiver's `Retry-After` is honoured as a
floor (capped at max_delay).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from marketops.notify.config import RetryPolicy

# 4xx answers that mean "try again later"; every other 4xx is the sender's mistake and retrying
# the same request cannot succeed (dead-letter it so a person can fix and replay).
RETRYABLE_4XX = frozenset({408, 409, 425, 429})


@dataclass(frozen=True)
class SendResult:
    """What one attempt did. `permanent` failures are dead-lettered at once."""

    ok: bool
    status_code: int | None = None
    error: str | None = None
    permanent: bool = False
    retry_after_s: float | None = None


def classify_http(status: int) -> tuple[bool, bool]:
    """(ok, permanent) for an HTTP status code."""
    if 200 <= status < 300:
        return True, False
    if 400 <= status < 500 and status not in RETRYABLE_4XX:
        return False, True
    return False, False


def backoff_delay_s(attempt: int, policy: RetryPolicy, rand: float) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based); `rand` is uniform [0, 1)."""
    ceiling = min(policy.max_delay_s, policy.base_delay_s * 2 ** max(attempt - 1, 0))
    return ceiling * rand


@dataclass(frozen=True)
class Decision:
    status: str  # delivered, pending (retry later), dead
    next_attempt_at: datetime | None
    outcome: str  # delivered, retry, dead


def decide(
    result: SendResult, attempts: int, policy: RetryPolicy, now: datetime, rand: float
) -> Decision:
    """The row's next state after attempt number `attempts` ended with `result` at `now`."""
    if result.ok:
        return Decision("delivered", None, "delivered")
    if result.permanent or attempts >= policy.max_attempts:
        return Decision("dead", None, "dead")
    delay = backoff_delay_s(attempts, policy, rand)
    if result.retry_after_s is not None:
        delay = max(delay, min(result.retry_after_s, policy.max_delay_s))
    return Decision("pending", now + timedelta(seconds=delay), "retry")
