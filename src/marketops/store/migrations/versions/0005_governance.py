"""governance: workspace versions, their files, and plans

Revision ID: 0005
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import marketops.store.types

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts = marketops.store.types.UTCDateTime(timezone=True)
    op.create_table(
        "workspace_versions",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("who", sa.String(length=200), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("via", sa.String(length=64), nullable=True),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("rolled_back_to", sa.Integer(), nullable=True),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("impact", sa.JSON(), nullable=False),
        sa.Column("governed", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_workspace_versions")),
    )
    op.create_table(
        "workspace_version_files",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version"],
            ["workspace_versions.version"],
            name=op.f("fk_workspace_version_files_version_workspace_versions"),
        ),
        sa.PrimaryKeyConstraint("version", "path", name=op.f("pk_workspace_version_files")),
    )
    op.create_table(
        "workspace_plans",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("base_hash", sa.String(length=64), nullable=True),
        sa.Column("candidate_hash", sa.String(length=64), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspace_plans")),
    )


def downgrade() -> None:
    op.drop_table("workspace_plans")
    op.drop_table("workspace_version_files")
    op.drop_table("workspace_versions")
