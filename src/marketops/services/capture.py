"""Capture use case: run raw records through the pipeline and store the result atomically.

One function serves the API (a batch of one) and file ingestion (batches of thousands): enrichers
are called before the transaction (network I/O never holds the write lock), then existing leads are
read, round-robin cursors locked, stages decided and everything written in one transaction.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from marketops.identity.service import link_outcomes
from marketops.pipeline.enrich import company_domains
from marketops.pipeline.runner import Outcome, Prepared, decide, prepare
from marketops.pipeline.suppress import SuppressionIndex
from marketops.services.context import AppContext
from marketops.store import leads_repo
from marketops.store.db import write_transaction

T = TypeVar("T")

log = logging.getLogger("marketops.capture")

# PostgreSQL aborts one of two transactions that wait on each other's row locks (deadlock
# detected) or, at a stricter isolation level, that cannot be serialised; run again, it succeeds
RETRY_SQLSTATES = frozenset({"40P01", "40001"})


def new_lead_id() -> str:
    """32 hex digits: the creation time in milliseconds (48 bits) then 80 random bits.

    Laid out like a UUIDv7, ids of leads created together sort together, so the primary key and
    every `lead_id` index grow at their right edge instead of at random pages: a million-lead
    ingest writes its rows at less than half the cost of fully random ids.
    """
    return new_lead_ids(1)[0]


def new_lead_ids(n: int) -> list[str]:
    """`n` ids laid out as `new_lead_id`'s, ascending: one clock reading and one read of random
    bits for all (~0.2 µs an id instead of ~1). A batch hands them out in record order, so the
    leads it inserts in that order append to the id index."""
    ms = f"{time.time_ns() // 1_000_000:012x}"  # the layout: 12 hex digits of ms, 20 random
    bits = os.urandom(10 * n).hex()
    return sorted([ms + bits[k : k + 20] for k in range(0, 20 * n, 20)])


@dataclass
class Batch:
    raws: Sequence[Mapping[str, Any]]
    source: str
    refs: Sequence[str | None]  # unique per input row: makes re-runs idempotent
    rows: Sequence[int | None]


def lookups_for(ctx: AppContext, prepared: Sequence[Prepared]) -> dict[str, dict[str, Any]]:
    """Ask each enricher once for all business domains in the batch."""
    if not ctx.enrichers:
        return {}
    domains = company_domains(p.lead for p in prepared if p.lead is not None)
    return {e.name: e.lookup(domains) for e in ctx.enrichers} if domains else {}


def capture(
    ctx: AppContext,
    batch: Batch,
    now: datetime,
    suppression: SuppressionIndex | None = None,
    prepared: Sequence[Prepared] | None = None,
    extra_writes: Any = None,
) -> list[Outcome]:
    """Decide and persist one batch; `extra_writes(conn, outcomes)` joins the same transaction."""
    cfg = ctx.config
    if prepared is None:
        prepared = [prepare(r, cfg, now) for r in batch.raws]
    lookups = lookups_for(ctx, prepared)
    suppression = suppression if suppression is not None else ctx.suppression_index()

    def write(conn: Connection) -> list[Outcome]:
        emails = [p.lead.email for p in prepared if p.lead is not None]
        existing = leads_repo.load_by_emails(conn, emails)
        slots = leads_repo.SlotAllocator(conn)
        outcomes = decide(
            prepared,
            cfg,
            existing=existing,
            lookups=lookups,
            suppression=suppression,
            take_slot=slots,
            now=now,
            new_id=new_lead_id,
        )
        leads_repo.persist(
            conn,
            outcomes,
            existing_ids={s.id for s in existing.values()},
            source=batch.source,
            refs=batch.refs,
            rows=batch.rows,
            now=now,
        )
        slots.save()
        link_outcomes(ctx, conn, outcomes, now)  # identity resolution, if enabled
        if extra_writes is not None:
            extra_writes(conn, outcomes)
        return outcomes

    return in_transaction(ctx, write)


def in_transaction(
    ctx: AppContext, write: Callable[[Connection], T], held: Connection | None = None
) -> T:
    """`write(conn)` in one write transaction, run again (up to three times in all) when a
    concurrent writer created the same email first (PostgreSQL raises IntegrityError; the retry
    sees the other lead) or PostgreSQL aborted it to break a deadlock: a batch locks the
    round-robin cursors of its leads' queues lead by lead, so two batches routing to the same
    queues in different orders can wait on each other. `held`: on a connection the caller
    keeps (else one from the pool)."""
    for attempt in range(3):
        try:
            with ctx.engine.begin() if held is None else write_transaction(held) as conn:
                return write(conn)
        except IntegrityError:
            if attempt == 2:
                raise
        except DBAPIError as exc:
            state = getattr(exc.orig, "sqlstate", None)
            if state not in RETRY_SQLSTATES or attempt == 2:
                raise
            log.warning("write transaction aborted by the store (%s); running it again", state)
    raise AssertionError("unreachable")
