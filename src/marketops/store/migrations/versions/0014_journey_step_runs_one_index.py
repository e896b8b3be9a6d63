"""journey_step_runs: drop the enrolment_id index the unique (enrolment, step, attempt) covers

Revision ID: 0014
Revises: 0012
Create Date: 2026-11-26 10:15:00

Every step record wrote an entry to both; the unique index starts with enrolment_id, so lookups
and the foreign key's checks by enrolment use it alone.
"""

from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_journey_step_runs_enrolment_id", table_name="journey_step_runs")


def downgrade() -> None:
    op.create_index(
        "ix_journey_step_runs_enrolment_id", "journey_step_runs", ["enrolment_id"], unique=False
    )
