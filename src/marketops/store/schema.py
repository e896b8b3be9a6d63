"""The operational store schema (SQLAlchemy Core), identical on SQLite and PostgreSQL.

Times are timezone-aware UTC (`DateTime(timezone=True)`); JSON columns hold reasons and raw payloads.
Migrations in `store/migrations` are generated from this metadata and checked in.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from marketops.store.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TS = UTCDateTime()

leads = Table(
    "leads",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("email", String(320), nullable=False, unique=True),  # normalized: the exact-dedupe key
    Column("email_original", String(320)),
    Column("first_name", String(200)),
    Column("last_name", String(200)),
    Column("title", String(300)),
    Column("company", String(300)),
    Column("company_key", String(300), index=True),  # legal suffixes stripped, for matching
    Column("company_domain", String(255), index=True),
    Column("phone", String(64)),
    Column("phone_e164", String(32)),
    Column("country", String(2)),
    Column("region", String(16)),
    Column("industry", String(200)),
    Column("employees", Integer),
    Column("source", String(200)),
    Column("lifecycle_stage", String(64), nullable=False),
    Column("fit_score", Float, nullable=False, default=0),
    Column("engagement_score", Float, nullable=False, default=0),
    Column("total_score", Float, nullable=False, default=0),
    Column("queue", String(200)),
    Column("owner", String(200)),
    Column("suppressed", Boolean, nullable=False, default=False),
    Column("flags", JSON, nullable=False, default=dict),  # free_mail, disposable, role_account, …
    Column("warnings", JSON, nullable=False, default=list),
    Column("attributes", JSON, nullable=False, default=dict),  # every other contract field
    Column("consent", JSON, nullable=False, default=dict),  # channel -> granted?
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)
Index("ix_leads_stage", leads.c.lifecycle_stage)
Index("ix_leads_owner", leads.c.owner)

activities = Table(
    "activities",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("lead_id", String(32), ForeignKey("leads.id"), nullable=False, index=True),
    Column("type", String(64), nullable=False),  # form_fill, demo_request, pricing_page, webinar, …
    Column("occurred_at", TS, nullable=False),
    Column("source_ref", String(200), unique=True),  # file fingerprint:row or idempotency key
    Column("details", JSON, nullable=False, default=dict),
)

lead_events = Table(
    "lead_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("lead_id", String(32), ForeignKey("leads.id"), nullable=False, index=True),
    Column("at", TS, nullable=False),
    Column(
        "kind", String(32), nullable=False
    ),  # created, updated, score, stage, routed, suppressed
    Column("actor", String(200), nullable=False),  # "pipeline", a rule name or a person
    Column(
        "data", JSON, nullable=False, default=dict
    ),  # reasons: which rule, which points, from/to
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(200), nullable=False),  # "api" or the file name
    Column("source_ref", String(200), unique=True),
    Column("row_number", Integer),
    Column("payload", JSON, nullable=False),
    Column("errors", JSON, nullable=False),  # [{field, rule, value, message}]
    Column("status", String(16), nullable=False, default="open"),  # open, replayed, discarded
    Column("lead_id", String(32)),
    Column("created_at", TS, nullable=False),
    Column("resolved_at", TS),
)
Index("ix_quarantine_status", quarantine.c.status)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", TS, nullable=False),
)

ingest_runs = Table(
    "ingest_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fingerprint", String(64), nullable=False, unique=True),  # sha256 of the file's bytes
    Column("path", Text, nullable=False),
    Column("rows_done", Integer, nullable=False, default=0),  # committed checkpoint
    Column("status", String(16), nullable=False),  # running, done
    Column("stats", JSON, nullable=False, default=dict),
    Column("started_at", TS, nullable=False),
    Column("finished_at", TS),
)

queue_cursors = Table(
    "queue_cursors",
    metadata,
    Column("queue", String(200), primary_key=True),
    Column("position", Integer, nullable=False, default=0),
)

suppressions = Table(
    "suppressions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(32), nullable=False),  # email, phone, sales, or "all"
    Column("kind", String(16), nullable=False),  # email or domain
    Column("value", String(320), nullable=False),
    Column("reason", String(300)),
    Column("created_at", TS, nullable=False),
    UniqueConstraint("channel", "kind", "value", name="uq_suppressions_entry"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(16), primary_key=True),  # public prefix shown in lists
    Column("name", String(200), nullable=False),
    Column("secret_hash", String(128), nullable=False),  # sha256 of the secret; never the secret
    Column("scopes", JSON, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("revoked_at", TS),
)


def _import_area_tables() -> None:
    """Each capability declares its tables in `store/tables_<area>.py` on this same metadata."""
    import importlib
    import pkgutil

    import marketops.store as store_pkg

    for mod in sorted(pkgutil.iter_modules(store_pkg.__path__), key=lambda m: m.name):
        if mod.name.startswith("tables_"):
            importlib.import_module(f"marketops.store.{mod.name}")


_import_area_tables()
