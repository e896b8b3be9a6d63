"""email_sends: one index, unique on (lead_id, ref)

Revision ID: 0015
Revises: 0013
Create Date: 2026-11-26 12:40:00

The table had two indexes: the unique (ref, lead_id) for exactly-once and `ix_email_sends_cap`
(lead_id, status, decided_at) for the reads by lead (the frequency cap, the exactly-once check of
a batch, a lead's history). One unique index keyed lead first serves all of them: a batch reads
its people's rows by lead either way and fetches the table row for the columns neither index
held. A send writes one index entry fewer (docs/journeys.md).
"""

from alembic import op

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_email_sends_cap", table_name="email_sends")
    with op.batch_alter_table("email_sends") as batch:  # SQLite: the table is rebuilt
        batch.drop_constraint("uq_email_sends_ref_lead", type_="unique")
        batch.create_unique_constraint("uq_email_sends_lead_ref", ["lead_id", "ref"])


def downgrade() -> None:
    with op.batch_alter_table("email_sends") as batch:
        batch.drop_constraint("uq_email_sends_lead_ref", type_="unique")
        batch.create_unique_constraint("uq_email_sends_ref_lead", ["ref", "lead_id"])
    op.create_index(
        "ix_email_sends_cap", "email_sends", ["lead_id", "status", "decided_at"], unique=False
    )
