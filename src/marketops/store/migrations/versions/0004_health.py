"""data health runs, per-field scores and the schedule claims

Revision ID: 0004
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import marketops.store.types

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "health_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("engine", sa.String(length=32), nullable=False),
        sa.Column("contract_id", sa.String(length=200), nullable=False),
        sa.Column("contract_version", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("breaches", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("at", marketops.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_runs")),
    )
    op.create_index("ix_health_runs_source_at", "health_runs", ["source", "at"], unique=False)
    op.create_table(
        "health_scores",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("dimension", sa.String(length=32), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("checked", sa.BigInteger(), nullable=False),
        sa.Column("failed", sa.BigInteger(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["health_runs.id"],
            name=op.f("fk_health_scores_run_id_health_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_scores")),
    )
    op.create_index("ix_health_scores_run_id", "health_scores", ["run_id"], unique=False)
    op.create_index(
        "ix_health_scores_dimension_field",
        "health_scores",
        ["dimension", "field"],
        unique=False,
    )
    op.create_table(
        "health_schedule",
        sa.Column("slot", sa.String(length=100), nullable=False),
        sa.Column("claimed_at", marketops.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("slot", name=op.f("pk_health_schedule")),
    )


def downgrade() -> None:
    op.drop_table("health_schedule")
    op.drop_index("ix_health_scores_dimension_field", table_name="health_scores")
    op.drop_index("ix_health_scores_run_id", table_name="health_scores")
    op.drop_table("health_scores")
    op.drop_index("ix_health_runs_source_at", table_name="health_runs")
    op.drop_table("health_runs")
