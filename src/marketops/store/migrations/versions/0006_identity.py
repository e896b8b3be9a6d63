"""identity resolution: identities, links, blocking keys, merges, trained models

Revision ID: 0006
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import marketops.store.types

revision = "0006"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = marketops.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "identities",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("golden", sa.JSON(), nullable=False),
        sa.Column("min_probability", sa.Float(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identities")),
    )
    op.create_table(
        "identity_links",
        sa.Column("lead_id", sa.String(length=32), nullable=False),
        sa.Column("identity_id", sa.String(length=32), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=True),
        sa.Column("match_probability", sa.Float(), nullable=True),
        sa.Column("match_weight", sa.Float(), nullable=True),
        sa.Column("matched_to", sa.String(length=32), nullable=True),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("linked_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("lead_id", name=op.f("pk_identity_links")),
    )
    op.create_index(
        op.f("ix_identity_links_identity_id"), "identity_links", ["identity_id"], unique=False
    )
    op.create_table(
        "identity_keys",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("lead_id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("key", "lead_id", name=op.f("pk_identity_keys")),
    )
    op.create_index("ix_identity_keys_lead_id", "identity_keys", ["lead_id"], unique=False)
    op.create_table(
        "identity_merges",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("into_identity", sa.String(length=32), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("reverted_at", TS, nullable=True),
        sa.Column("reverted_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_merges")),
    )
    op.create_index("ix_identity_merges_into", "identity_merges", ["into_identity"], unique=False)
    op.create_table(
        "identity_models",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_models")),
    )


def downgrade() -> None:
    op.drop_table("identity_models")
    op.drop_index("ix_identity_merges_into", table_name="identity_merges")
    op.drop_table("identity_merges")
    op.drop_index("ix_identity_keys_lead_id", table_name="identity_keys")
    op.drop_table("identity_keys")
    op.drop_index(op.f("ix_identity_links_identity_id"), table_name="identity_links")
    op.drop_table("identity_links")
    op.drop_table("identities")
