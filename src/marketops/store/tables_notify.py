"""The transactional outbox: deliveries written with the change, sent later by the worker.

`outbox` holds one row per delivery (unique idempotency key), `outbox_attempts` the log of every
try (status code, error, duration) so a dead letter can be diagnosed before it is replayed.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Float, ForeignKey, Index, Integer, String, Table, Text

from marketops.store.schema import metadata
from marketops.store.types import UTCDateTime

TS = UTCDateTime()

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("channel", String(16), nullable=False),  # webhook, slack, email
    Column("destination", String(500), nullable=False),  # URL, named destination or address
    Column("subject", String(500)),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # pending, delivered, dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", TS, nullable=False),
    Column("claimed_by", String(64)),  # the claim token of the worker holding it
    Column("claimed_until", TS),  # lease: after this a crashed worker's claim is taken over
    Column("last_error", Text),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("delivered_at", TS),
)
Index("ix_outbox_due", outbox.c.status, outbox.c.next_attempt_at)

outbox_attempts = Table(
    "outbox_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("outbox_id", Integer, ForeignKey("outbox.id"), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("worker", String(64), nullable=False),
    Column("started_at", TS, nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("status_code", Integer),  # HTTP status, or the SMTP reply code
    Column("outcome", String(16), nullable=False),  # delivered, retry, dead
    Column("error", Text),
)
