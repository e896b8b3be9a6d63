"""events: Segment events, identity links, touchpoints, opportunities, costs, dead letters

Revision ID: 0009
Revises: 0001
Create Date: 2026-11-25 20:00:00
"""

import sqlalchemy as sa
from alembic import op

import marketops.store.types

revision = "0009"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = marketops.store.types.UTCDateTime(timezone=True)
MONEY = sa.Numeric(18, 2)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("event", sa.String(200)),
        sa.Column("anonymous_id", sa.String(200)),
        sa.Column("user_id", sa.String(200)),
        sa.Column("ts", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("message_id", name="uq_events_message_id"),
    )
    op.create_index("ix_events_anonymous_id", "events", ["anonymous_id"])
    op.create_table(
        "event_identities",
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.Column("lead_id", sa.String(32), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("linked_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("kind", "value", name="pk_event_identities"),
    )
    op.create_index("ix_event_identities_lead_id", "event_identities", ["lead_id"])
    op.create_table(
        "touchpoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("anonymous_id", sa.String(200)),
        sa.Column("user_id", sa.String(200)),
        sa.Column("ts", TS, nullable=False),
        sa.Column("channel", sa.String(100)),
        sa.Column("source", sa.String(300)),
        sa.Column("medium", sa.String(300)),
        sa.Column("campaign", sa.String(300)),
        sa.Column("content", sa.String(300)),
        sa.Column("touch_type", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_touchpoints"),
        sa.UniqueConstraint("message_id", name="uq_touchpoints_message_id"),
    )
    op.create_index("ix_touchpoints_ts", "touchpoints", ["ts"])
    op.create_table(
        "opportunities",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("anonymous_id", sa.String(200)),
        sa.Column("user_id", sa.String(200)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("closed_at", TS),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("amount", MONEY),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_opportunities"),
    )
    op.create_table(
        "marketing_costs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("campaign", sa.String(300), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("spend", MONEY, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_marketing_costs"),
    )
    op.create_index(
        "uq_marketing_costs_key", "marketing_costs", ["day", "campaign", "channel"], unique=True
    )
    op.create_table(
        "event_dead_letters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("message_id", sa.String(200)),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("resolved_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_event_dead_letters"),
    )
    op.create_index("ix_event_dead_letters_status", "event_dead_letters", ["status"])


def downgrade() -> None:
    op.drop_index("ix_event_dead_letters_status", table_name="event_dead_letters")
    op.drop_table("event_dead_letters")
    op.drop_index("uq_marketing_costs_key", table_name="marketing_costs")
    op.drop_table("marketing_costs")
    op.drop_table("opportunities")
    op.drop_index("ix_touchpoints_ts", table_name="touchpoints")
    op.drop_table("touchpoints")
    op.drop_index("ix_event_identities_lead_id", table_name="event_identities")
    op.drop_table("event_identities")
    op.drop_index("ix_events_anonymous_id", table_name="events")
    op.drop_table("events")
