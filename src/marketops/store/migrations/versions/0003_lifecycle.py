"""lifecycle: SLA timers and sales accounts

Revision ID: 0003
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import marketops.store.types

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = marketops.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sla_timers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("lead_id", sa.String(length=32), nullable=False),
        sa.Column("sla", sa.String(length=200), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("queue", sa.String(length=200), nullable=True),
        sa.Column("calendar", sa.String(length=200), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("after_s", sa.Float(), nullable=False),
        sa.Column("due_at", TS, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_sla_timers_lead_id_leads")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_timers")),
    )
    op.create_index(op.f("ix_sla_timers_lead_id"), "sla_timers", ["lead_id"])
    op.create_index("ix_sla_timers_status_due", "sla_timers", ["status", "due_at"])
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("name_key", sa.String(length=300), nullable=True),
        sa.Column("domain", sa.String(length=255), nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    op.create_index(op.f("ix_accounts_domain"), "accounts", ["domain"])


def downgrade() -> None:
    op.drop_index(op.f("ix_accounts_domain"), table_name="accounts")
    op.drop_table("accounts")
    op.drop_index("ix_sla_timers_status_due", table_name="sla_timers")
    op.drop_index(op.f("ix_sla_timers_lead_id"), table_name="sla_timers")
    op.drop_table("sla_timers")
