"""segments: membership, change log, refresh state, pending list-import rows

Revision ID: 0010
Revises: 0001
Create Date: 2026-11-26 09:00:00
"""

import sqlalchemy as sa
from alembic import op

import marketops.store.types

revision = "0010"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = marketops.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "segment_members",
        sa.Column("segment", sa.String(200), nullable=False),
        sa.Column("lead_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("since", TS, nullable=False),
        sa.PrimaryKeyConstraint("segment", "lead_id", name="pk_segment_members"),
    )
    op.create_index("ix_segment_members_lead_id", "segment_members", ["lead_id"])
    op.create_table(
        "segment_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("segment", sa.String(200), nullable=False),
        sa.Column("lead_id", sa.String(32), nullable=False),
        sa.Column("change", sa.String(8), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_segment_changes"),
    )
    op.create_index("ix_segment_changes_segment", "segment_changes", ["segment"])
    op.create_index("ix_segment_changes_lead_id", "segment_changes", ["lead_id"])
    op.create_table(
        "segment_state",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_segment_state"),
    )
    op.create_table(
        "segment_pending",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("list", sa.String(200), nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("source_ref", sa.String(200), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("lead_ref", sa.String(32)),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("lead_id", sa.String(32)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("resolved_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_segment_pending"),
        sa.UniqueConstraint("list", "source_ref", name="uq_segment_pending_ref"),
    )
    op.create_index("ix_segment_pending_status", "segment_pending", ["status"])


def downgrade() -> None:
    op.drop_index("ix_segment_pending_status", table_name="segment_pending")
    op.drop_table("segment_pending")
    op.drop_table("segment_state")
    op.drop_index("ix_segment_changes_lead_id", table_name="segment_changes")
    op.drop_index("ix_segment_changes_segment", table_name="segment_changes")
    op.drop_table("segment_changes")
    op.drop_index("ix_segment_members_lead_id", table_name="segment_members")
    op.drop_table("segment_members")
