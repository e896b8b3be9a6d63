"""One worker tick of the outbox: claim due deliveries, send them concurrently, record the results.

The send happens outside any transaction (a slow receiver must not hold a database lock); the two
short transactions around it are the claim and the record.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from marketops.notify import outbox
from marketops.notify.config import NotificationsFile
from marketops.notify.policy import SendResult, decide
from marketops.notify.senders import Delivery, Senders

log = logging.getLogger("marketops.notify")

# a composer: recipe rows -> each one's message, or the reason it cannot be sent
Compose = Callable[[Sequence[outbox.Claimed]], list[outbox.Claimed | str]]


@dataclass
class TickStats:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    lost_claims: int = 0


def deliver_due(
    engine: Engine,
    cfg: NotificationsFile,
    *,
    now: datetime,
    worker: str,
    member_emails: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    senders: Senders | None = None,
    rng: random.Random | None = None,
    pool: Executor | None = None,
    compose: Compose | None = None,
) -> TickStats:
    """Claim up to `delivery.batch_size` due rows, send them, record every attempt.

    `senders` and `pool` may be kept across ticks (connection reuse, no thread start-up); when
    not given they are made for this tick and closed after it. `compose` turns recipe rows
    (`outbox.COMPOSE_KEY`: journey emails rendered at send time) into messages, or into the
    reason they cannot be sent, which dead-letters the row (fix, then replay).
    """
    stats = TickStats()
    started = time.monotonic()
    token = outbox.new_token()
    with engine.begin() as conn:
        claimed = outbox.claim(
            conn,
            now=now,
            limit=cfg.delivery.batch_size,
            lease_s=cfg.delivery.lease_s,
            token=token,
        )
    stats.claimed = len(claimed)
    if not claimed:
        return stats
    own = senders is None
    senders = senders or Senders(cfg, member_emails or {}, os.environ if env is None else env)
    rng = rng or random.Random()

    def at() -> datetime:
        # `now` is the tick's clock; add the time spent so far so attempts are stamped truly
        return now + timedelta(seconds=time.monotonic() - started)

    ready = _composed(claimed, compose)

    def send_one(c: outbox.Claimed) -> outbox.Outcome:
        t0 = time.perf_counter()
        began = at()
        msg = ready.get(c.id, c)
        try:
            if isinstance(msg, SendResult):  # the recipe did not become a message: not sent
                result = msg
            else:
                delivery = Delivery(
                    c.id,
                    c.idempotency_key,
                    c.channel,
                    c.destination,
                    msg.subject,
                    msg.payload,
                    c.attempt,
                )
                result = senders.send(delivery, began)
        except Exception as exc:  # a bug in a sender must not lose the row: record and retry
            # the type only at ERROR (messages may quote addresses); the traceback at DEBUG
            log.error("sender crashed on delivery %s: %s", c.id, type(exc).__name__)
            log.debug("sender traceback for delivery %s", c.id, exc_info=True)
            result = SendResult(False, error=f"internal error: {type(exc).__name__}")
        ms = (time.perf_counter() - t0) * 1000
        decision = decide(result, c.attempt, cfg.retry, at(), rng.random())
        return outbox.Outcome(c, result, decision, began, ms)

    try:
        workers = min(cfg.delivery.concurrency, len(claimed))
        if workers == 1:
            outcomes = [send_one(c) for c in claimed]
        elif pool is not None:
            outcomes = list(pool.map(send_one, claimed))
        else:
            with ThreadPoolExecutor(workers, thread_name_prefix="outbox-send") as pool:
                outcomes = list(pool.map(send_one, claimed))
    finally:
        if own:
            senders.close()
    with engine.begin() as conn:
        held = outbox.record(conn, outcomes, worker=worker, now=at())
    stats.lost_claims = len(outcomes) - held
    for o in outcomes:
        kind = o.decision.outcome
        if kind == "delivered":
            stats.delivered += 1
        elif kind == "dead":
            stats.dead += 1
        else:
            stats.retried += 1
        # ids and codes only: destinations and payloads may hold PII
        log.debug(
            "delivery %s attempt %s: %s (%s)",
            o.claimed.id,
            o.claimed.attempt,
            kind,
            o.result.status_code,
        )
    log.info(
        "outbox: %d delivered, %d to retry, %d dead-lettered, %d lost claims",
        stats.delivered,
        stats.retried,
        stats.dead,
        stats.lost_claims,
    )
    return stats


def _composed(
    claimed: Sequence[outbox.Claimed], compose: Compose | None
) -> dict[int, outbox.Claimed | SendResult]:
    """Recipe rows as messages by id, or the failed attempt: a reason the composer gave is
    permanent (dead letter, replayable), a composer that raised is retried. Other rows are
    sent as stored."""
    recipes = [c for c in claimed if outbox.COMPOSE_KEY in c.payload]
    if not recipes:
        return {}
    if compose is None:
        why = "a recipe row needs a composer: deliver it with `marketops worker`, then replay"
        return {c.id: SendResult(False, error=why, permanent=True) for c in recipes}
    try:
        done = compose(recipes)
    except Exception as exc:  # the store or the workspace failed: retry these rows later
        log.error("outbox compose failed: %s", type(exc).__name__)
        log.debug("outbox compose traceback", exc_info=True)
        failed = SendResult(False, error=f"compose failed: {type(exc).__name__}")
        return {c.id: failed for c in recipes}
    return {
        c.id: SendResult(False, error=m, permanent=True) if isinstance(m, str) else m
        for c, m in zip(recipes, done, strict=True)
    }
