"""messaging: email send decisions and unsubscribes

Revision ID: 0011
Revises: 0001
Create Date: 2026-11-26 01:00:00
"""

import sqlalchemy as sa
from alembic import op

import marketops.store.types

revision = "0011"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = marketops.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "email_sends",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("lead_id", sa.String(32), nullable=False),
        sa.Column("ref", sa.String(200), nullable=False),
        sa.Column("template", sa.String(100), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(300)),
        sa.Column("retry_at", TS),
        sa.Column("delivery_id", sa.Integer()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("decided_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_email_sends"),
        sa.UniqueConstraint("lead_id", "ref", name="uq_email_sends_lead_ref"),
    )
    op.create_index(
        "ix_email_sends_cap", "email_sends", ["lead_id", "status", "decided_at"]
    )
    op.create_table(
        "email_unsubscribes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("lead_id", sa.String(32), nullable=False),
        sa.Column("topic", sa.String(40), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_email_unsubscribes"),
    )
    op.create_index(
        "ix_email_unsubscribes_lead_id", "email_unsubscribes", ["lead_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_email_unsubscribes_lead_id", table_name="email_unsubscribes")
    op.drop_table("email_unsubscribes")
    op.drop_index("ix_email_sends_cap", table_name="email_sends")
    op.drop_table("email_sends")
