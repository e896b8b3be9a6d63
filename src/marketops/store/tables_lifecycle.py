"""Lifecycle and routing tables: SLA timers (one row per scheduled action) and sales accounts.

Stage moves, assignments and sales touches are not tables of their own: they are `lead_events`
and `activities` rows, so one lead's history stays in one place.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Float, ForeignKey, Index, Integer, String, Table

from marketops.store.schema import TS, metadata

sla_timers = Table(
    "sla_timers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("lead_id", String(32), ForeignKey("leads.id"), nullable=False, index=True),
    Column("sla", String(200), nullable=False),  # StageSla.name
    Column("step", Integer, nullable=False),  # index of the timer inside the SLA
    Column("action", String(16), nullable=False),  # notify, escalate, reassign, move
    Column("stage", String(64), nullable=False),  # the stage the clock belongs to
    Column("owner", String(200)),  # owner when the clock started (None for stage-only SLAs)
    Column("queue", String(200)),
    Column("calendar", String(200), nullable=False),  # resolved calendar name or 24x7
    Column("started_at", TS, nullable=False),
    Column("after_s", Float, nullable=False),  # business seconds on `calendar`
    Column("due_at", TS),  # filled by the scheduler when NULL (pipeline writes need no calendars)
    Column("status", String(16), nullable=False),  # pending, fired, stopped, cancelled
    Column("resolved_at", TS),
    Column("result", JSON, nullable=False, default=dict),
)
Index("ix_sla_timers_status_due", sla_timers.c.status, sla_timers.c.due_at)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(64), primary_key=True),  # the CRM's account id
    Column("name", String(300), nullable=False),
    Column("name_key", String(300)),  # legal suffixes stripped, lower case (as leads.company_key)
    Column("domain", String(255), index=True),
    Column("owner", String(200), nullable=False),
    Column("updated_at", TS, nullable=False),
)
