"""Journey tables: published versions, run state, enrolments (durable timers), executed steps.

An enrolment is a person inside one version of a journey: its current step and `due_at` are the
durable timer. `journey_step_runs` holds one row per executed step, unique on (enrolment, step,
attempt) and written in the same transaction as the step's effects: exactly once.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from marketops.store.schema import TS, metadata

journey_versions = Table(
    "journey_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("journey", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("definition", JSON, nullable=False),  # the parsed Journey (model_dump)
    Column("source", Text, nullable=False),  # the YAML as published
    Column("published_at", TS, nullable=False),
    Column("published_by", String(200), nullable=False),
    UniqueConstraint("journey", "version", name="uq_journey_versions_journey_version"),
)

journey_states = Table(
    "journey_states",
    metadata,
    Column("journey", String(200), primary_key=True),
    Column("status", String(16), nullable=False),  # active, paused, stopped
    Column("version", Integer, nullable=False),  # newest published version: where people enter
    Column("reason", String(500)),
    Column("updated_at", TS, nullable=False),
)

journey_cursors = Table(
    "journey_cursors",
    metadata,
    Column("journey", String(200), primary_key=True),  # or "*wake" for the shared wake-up scan
    Column("source", String(32), primary_key=True),  # segment_changes, activities, lead_events, …
    Column("position", Integer, nullable=False),  # last id consumed
)

journey_enrolments = Table(
    "journey_enrolments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("journey", String(200), nullable=False),
    Column("version", Integer, nullable=False),  # pinned at entry; changed only by a migration
    Column("lead_id", String(32), nullable=False, index=True),
    Column("entry_key", String(300), nullable=False, unique=True),  # journey:trigger row
    Column("status", String(16), nullable=False),  # active, completed, goal, exited, stopped
    Column("step", String(100)),  # the step to run next (None once out)
    Column("due_at", TS),  # when to look at it next: the durable timer
    Column("wait_started_at", TS),  # the current wait step began
    Column("wait_until", TS),  # … and ends (a window opening, a delay, an event's timeout)
    Column("visits", JSON, nullable=False, default=dict),  # step -> times executed (the attempt)
    Column("defers", Integer, nullable=False, default=0),  # sends deferred on the current step
    Column("entered_at", TS, nullable=False),
    Column("exited_at", TS),
    Column("exit_reason", String(500)),
    Column("goal", String(200)),
    Column("updated_at", TS, nullable=False),
)
Index(
    "ix_journey_enrolments_due",
    journey_enrolments.c.status,
    journey_enrolments.c.due_at,
    journey_enrolments.c.id,  # the claim orders by (due_at, id): no sort on PostgreSQL
)
Index("ix_journey_enrolments_journey", journey_enrolments.c.journey, journey_enrolments.c.status)

journey_step_runs = Table(
    "journey_step_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # no index of its own: the unique (enrolment_id, step, attempt) serves lookups by it (0014)
    Column("enrolment_id", Integer, ForeignKey("journey_enrolments.id"), nullable=False),
    Column("journey", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("step", String(100), nullable=False),
    Column("attempt", Integer, nullable=False),  # 1 + earlier visits of this step (loops)
    Column("kind", String(32), nullable=False),
    Column("outcome", String(32), nullable=False),  # done, sent, skipped, event, timeout, goal…
    Column("result", JSON, nullable=False, default=dict),
    Column("at", TS, nullable=False),
    UniqueConstraint(
        "enrolment_id", "step", "attempt", name="uq_journey_step_runs_enrolment_step_attempt"
    ),
)

journey_events = Table(
    "journey_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("journey", String(200), nullable=False),
    Column("lead_id", String(32), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("payload", JSON, nullable=False, default=dict),
    Column("at", TS, nullable=False),
)
