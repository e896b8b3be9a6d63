"""Change control: every applied (or rolled-back-to) state of the governed workspace files, and
the plans (diff + back-test) that preceded them."""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Table, Text

from marketops.store.schema import metadata
from marketops.store.types import UTCDateTime

TS = UTCDateTime()

workspace_versions = Table(
    "workspace_versions",
    metadata,
    # 1, 2, 3 …; the highest is live. The primary key makes two concurrent applies collide.
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("content_hash", String(64), nullable=False),  # sha256 over (path, file sha256) pairs
    Column("action", String(16), nullable=False),  # apply | rollback
    Column("who", String(200), nullable=False),
    Column("why", Text, nullable=False),
    Column("via", String(64)),  # "cli" or the API key id
    Column("created_at", TS, nullable=False),
    Column("base_version", Integer),  # the live version it replaced
    Column("rolled_back_to", Integer),  # for rollbacks: the version whose files were restored
    Column("plan_id", Integer),
    Column("impact", JSON, nullable=False, default=dict),  # back-test summary at apply time
    Column("governed", JSON, nullable=False, default=list),  # paths under control at the time
)

workspace_version_files = Table(
    "workspace_version_files",
    metadata,
    Column("version", Integer, ForeignKey("workspace_versions.version"), primary_key=True),
    Column("path", String(500), primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("content", Text, nullable=False),
)

workspace_plans = Table(
    "workspace_plans",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", TS, nullable=False),
    Column("base_version", Integer),  # live version when planned (None: nothing applied yet)
    Column("base_hash", String(64)),
    Column("candidate_hash", String(64), nullable=False),
    Column("files", JSON, nullable=False),  # {path: sha256} of the working files planned
    Column("report", JSON, nullable=False),  # diff summary, validation problems, back-test
)
