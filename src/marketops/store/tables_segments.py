"""Segment tables: current membership, the append-only change log, refresh state, pending imports.

`segment_changes` is the contract with journeys: they read entries after a watermark id to learn
who entered or left a segment. A row is written in the same transaction as the membership change
it records, so a crash leaves both or neither.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, String, Table, UniqueConstraint

from marketops.store.schema import TS, metadata

segment_members = Table(
    "segment_members",
    metadata,
    Column("segment", String(200), primary_key=True),
    Column("lead_id", String(32), primary_key=True),
    Column("kind", String(8), nullable=False),  # segment | list
    Column("source", String(200), nullable=False),  # refresh, recompute, import:<file>, api, …
    Column("since", TS, nullable=False),
)
Index("ix_segment_members_lead_id", segment_members.c.lead_id)

segment_changes = Table(
    "segment_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("segment", String(200), nullable=False),
    Column("lead_id", String(32), nullable=False),
    Column("change", String(8), nullable=False),  # entered | exited
    Column("at", TS, nullable=False),
)
Index("ix_segment_changes_segment", segment_changes.c.segment)
Index("ix_segment_changes_lead_id", segment_changes.c.lead_id)

# one row ("refresh"): watermarks of the incremental refresh; also the lock writers take
segment_state = Table(
    "segment_state",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("data", JSON, nullable=False, default=dict),
)

# list import rows that matched no lead (or were unreadable): kept, and retried on every refresh
segment_pending = Table(
    "segment_pending",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("list", String(200), nullable=False),
    Column("source", String(300), nullable=False),  # the file name
    Column("source_ref", String(200), nullable=False),  # sha256 of the file : row number
    Column("row_number", Integer, nullable=False),
    Column("email", String(320)),
    Column("lead_ref", String(32)),
    Column("reason", String(300), nullable=False),
    Column("status", String(16), nullable=False),  # open, matched, discarded
    Column("lead_id", String(32)),
    Column("created_at", TS, nullable=False),
    Column("resolved_at", TS),
    UniqueConstraint("list", "source_ref", name="uq_segment_pending_ref"),
)
Index("ix_segment_pending_status", segment_pending.c.status)
