"""email_sends: the (lead, ref) unique index keyed ref first

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-26 07:00:00

A journey's refs start with the enrolment id, so a batch of sends lands on neighbouring pages of
an index keyed ref first; keyed lead first (a random hex id) each insert dirtied a page of its own.
Uniqueness is the same set of columns, so `ON CONFLICT (lead_id, ref)` still finds it; reads by
lead use `ix_email_sends_cap`.
"""

from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("email_sends") as batch:  # SQLite: the table is rebuilt
        batch.drop_constraint("uq_email_sends_lead_ref", type_="unique")
        batch.create_unique_constraint("uq_email_sends_ref_lead", ["ref", "lead_id"])


def downgrade() -> None:
    with op.batch_alter_table("email_sends") as batch:
        batch.drop_constraint("uq_email_sends_ref_lead", type_="unique")
        batch.create_unique_constraint("uq_email_sends_lead_ref", ["lead_id", "ref"])
