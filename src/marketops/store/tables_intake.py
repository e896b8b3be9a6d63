"""Tables of request intake and launches: requests and their moves, launches booked on release
trains (a unique seat per window keeps capacity under concurrency), launch assets with their
pre-flight reports, the audit trail of freeze overrides, and the experiments log for MOPS KPIs."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from marketops.store.schema import metadata
from marketops.store.types import UTCDateTime

TS = UTCDateTime()

intake_requests = Table(
    "intake_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("type", String(100), nullable=False),
    Column("class", String(16), nullable=False),
    Column("title", String(300), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("requester", String(320), nullable=False),  # PII: an email or a name; never logged
    Column("channel", String(16), nullable=False),  # api, cli, web
    Column("self_serve", Boolean, nullable=False, default=False),
    Column("template", String(200)),
    Column("inputs", JSON, nullable=False, default=dict),
    Column("priority_inputs", JSON, nullable=False, default=dict),
    Column("priority", Float, nullable=False),
    Column("state", String(32), nullable=False),
    Column("paused_from", String(32)),  # the working state a paused request returns to
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("live_at", TS),  # first time it went live (time-to-campaign)
    Column("closed_at", TS),
    Column("idempotency_key", String(200), unique=True),
)
Index("ix_intake_requests_state", intake_requests.c.state)
Index("ix_intake_requests_created", intake_requests.c.created_at)

intake_request_events = Table(
    "intake_request_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", Integer, ForeignKey("intake_requests.id"), nullable=False),
    Column("at", TS, nullable=False),
    Column("from_state", String(32)),
    Column("to_state", String(32), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("note", Text),
)
Index(
    "ix_intake_request_events_req", intake_request_events.c.request_id, intake_request_events.c.at
)

intake_launches = Table(
    "intake_launches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(300), nullable=False),
    Column("request_id", Integer, ForeignKey("intake_requests.id")),
    Column("state", String(16), nullable=False),  # scheduled, live, cancelled
    Column("train", String(200)),
    Column("launch_at", TS, nullable=False),
    Column("window_end", TS),
    Column("duration_s", Integer, nullable=False),
    Column("override_reason", Text),
    Column("created_by", String(200), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("shipped_at", TS),
    Column("shipped_by", String(200)),
)
Index("ix_intake_launches_request", intake_launches.c.request_id)
Index("ix_intake_launches_at", intake_launches.c.launch_at)

# One row per seat taken on a train window; the unique seat is what keeps capacity under
# concurrent schedulers on PostgreSQL (the loser of a race retries the next seat or window).
intake_launch_bookings = Table(
    "intake_launch_bookings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("launch_id", Integer, ForeignKey("intake_launches.id"), nullable=False, unique=True),
    Column("train", String(200), nullable=False),
    Column("window_start", TS, nullable=False),
    Column("seat", Integer, nullable=False),
    Column("at", TS, nullable=False),
    UniqueConstraint("train", "window_start", "seat", name="uq_intake_launch_bookings_seat"),
)

intake_launch_assets = Table(
    "intake_launch_assets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("launch_id", Integer, ForeignKey("intake_launches.id"), nullable=False),
    Column("name", String(300), nullable=False),
    Column("kind", String(8), nullable=False),  # html, eml
    Column("page", Boolean, nullable=False, default=False),  # a landing page, not an email
    Column("content", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("added_at", TS, nullable=False),
    UniqueConstraint("launch_id", "name", name="uq_intake_launch_assets_name"),
)

intake_preflight_runs = Table(
    "intake_preflight_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("launch_id", Integer, ForeignKey("intake_launches.id"), nullable=False),
    Column("asset_id", Integer, ForeignKey("intake_launch_assets.id"), nullable=False),
    Column("sha256", String(64), nullable=False),  # the asset content the report is about
    Column("online", Boolean, nullable=False),
    Column("can_ship", Boolean, nullable=False),
    Column("blockers", Integer, nullable=False),
    Column("warnings", Integer, nullable=False),
    Column("report", JSON, nullable=False),
    Column("ran_at", TS, nullable=False),
)
Index("ix_intake_preflight_runs_asset", intake_preflight_runs.c.asset_id)

intake_audit = Table(
    "intake_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", TS, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),  # freeze_override, …
    Column("entity", String(32), nullable=False),  # launch, request
    Column("entity_id", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("details", JSON, nullable=False, default=dict),
)
Index("ix_intake_audit_entity", intake_audit.c.entity, intake_audit.c.entity_id)

intake_experiments = Table(
    "intake_experiments",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("concluded_on", Date, nullable=False),
    Column("required_per_arm", Integer, nullable=False),
    Column("units_per_arm", JSON, nullable=False),
    Column("direct_cost", Numeric(14, 2), nullable=False),
    Column("recorded_at", TS, nullable=False),
)
