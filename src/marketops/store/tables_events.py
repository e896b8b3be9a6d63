"""Event ingestion tables: raw Segment events, identity links, touchpoints, opportunities, costs.

Touchpoints and opportunities keep the event's own ids (anonymousId/userId); the link to a lead is
the `event_identities` table, joined when the analytics read the store, so an identify that arrives
after the visits still links every earlier visit.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Date, Index, Integer, Numeric, String, Table

from marketops.store.schema import TS, metadata

MONEY = Numeric(18, 2, asdecimal=True)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(200), nullable=False, unique=True),  # idempotency key
    Column("type", String(16), nullable=False),  # track, identify, page
    Column("event", String(200)),  # track name
    Column("anonymous_id", String(200)),
    Column("user_id", String(200)),
    Column("ts", TS, nullable=False),
    Column("received_at", TS, nullable=False),
    Column("source", String(200), nullable=False),  # "api" or the file name
    Column("payload", JSON, nullable=False),
)
Index("ix_events_anonymous_id", events.c.anonymous_id)

event_identities = Table(
    "event_identities",
    metadata,
    Column("kind", String(8), primary_key=True),  # anon | user
    Column("value", String(200), primary_key=True),
    Column("lead_id", String(32), nullable=False, index=True),
    Column("message_id", String(200), nullable=False),  # the identify that made the link
    Column("linked_at", TS, nullable=False),
)

touchpoints = Table(
    "touchpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(200), nullable=False, unique=True),
    Column("anonymous_id", String(200)),
    Column("user_id", String(200)),
    Column("ts", TS, nullable=False),
    Column("channel", String(100)),
    Column("source", String(300)),
    Column("medium", String(300)),
    Column("campaign", String(300)),
    Column("content", String(300)),
    Column("touch_type", String(100), nullable=False),
)
Index("ix_touchpoints_ts", touchpoints.c.ts)

opportunities = Table(
    "opportunities",
    metadata,
    Column("id", String(200), primary_key=True),  # the CRM's opportunity id
    Column("anonymous_id", String(200)),
    Column("user_id", String(200)),
    Column("created_at", TS, nullable=False),
    Column("closed_at", TS),
    Column("status", String(8), nullable=False),  # open, won, lost
    Column("amount", MONEY),
    Column("updated_at", TS, nullable=False),
)

marketing_costs = Table(
    "marketing_costs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("day", Date, nullable=False),
    Column("campaign", String(300), nullable=False, default=""),  # "" = not per campaign
    Column("channel", String(100), nullable=False, default=""),
    Column("spend", MONEY, nullable=False),
)
Index(
    "uq_marketing_costs_key",
    marketing_costs.c.day,
    marketing_costs.c.campaign,
    marketing_costs.c.channel,
    unique=True,
)

event_dead_letters = Table(
    "event_dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(200), nullable=False),
    Column("message_id", String(200)),
    Column("payload", JSON, nullable=False),
    Column("errors", JSON, nullable=False),  # [{field, message}]
    Column("status", String(16), nullable=False),  # open, replayed, discarded
    Column("created_at", TS, nullable=False),
    Column("resolved_at", TS),
)
Index("ix_event_dead_letters_status", event_dead_letters.c.status)
