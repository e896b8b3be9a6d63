"""One worker tick of the outbox: claim due deliveries, send them concurrently, record the results.

The send happens outside any transaction (a slow receiver must not hold a database lock); the two
short transactions around it are the claim and the record.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from marketops.notify import outbox
from marketops.notify.config import NotificationsFile
from marketops.notify.policy import SendResult, decide
from marketops.notify.senders import Delivery, Senders

log = logging.getLogger("marketops.notify")


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
) -> TickStats:
    """Claim up to `delivery.batch_size` due rows, send them, record every attempt.

    `senders` and `pool` may be kept across ticks (connection reuse, no thread start-up); when
    not given they are made for this tick and closed after it.
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

    def send_one(c: outbox.Claimed) -> outbox.Outcome:
        t0 = time.perf_counter()
        began = at()
        delivery = Delivery(
            c.id, c.idempotency_key, c.channel, c.destination, c.subject, c.payload, c.attempt
        )
        try:
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
