"""Journey email: one row per send decision, and the unsubscribes received.

`email_sends` is unique on (lead_id, ref) — the caller's step reference — which is what makes
`send_email` exactly-once per step; its queued rows are what the frequency cap counts.
`email_unsubscribes` is the audit of every unsubscribe (link page or RFC 8058 one-click).
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, UniqueConstraint

from marketops.store.schema import metadata
from marketops.store.types import UTCDateTime

TS = UTCDateTime()

email_sends = Table(
    "email_sends",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("lead_id", String(32), nullable=False),
    Column("ref", String(200), nullable=False),  # the caller's step reference
    Column("template", String(100), nullable=False),
    Column("category", String(16), nullable=False),  # marketing, transactional
    Column("status", String(16), nullable=False),  # queued, skipped, deferred
    Column("reason", String(300)),
    Column("retry_at", TS),
    Column("delivery_id", Integer),  # outbox.id when queued
    Column("attempts", Integer, nullable=False, default=1),  # decisions taken (deferrals re-decide)
    Column("created_at", TS, nullable=False),
    Column("decided_at", TS, nullable=False),
    # the table's one index: exactly-once, and every read by lead (the cap, a lead's history)
    UniqueConstraint("lead_id", "ref", name="uq_email_sends_lead_ref"),
)

email_unsubscribes = Table(
    "email_unsubscribes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("lead_id", String(32), nullable=False, index=True),
    Column("topic", String(40), nullable=False),
    Column("method", String(16), nullable=False),  # page (the form) or one-click (RFC 8058)
    Column("at", TS, nullable=False),
)
