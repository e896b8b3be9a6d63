"""Data-health runs: one row per run (dimension scores) and one per field x dimension (the trend),
and the scheduled periods the worker has claimed (one run per period, however many workers)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Float, ForeignKey, Index, Integer, String, Table

from marketops.store.schema import metadata
from marketops.store.types import UTCDateTime

TS = UTCDateTime()

health_runs = Table(
    "health_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(500), nullable=False),  # "store" or the file name
    Column("engine", String(32), nullable=False),  # duckdb, postgres, …
    Column("contract_id", String(200), nullable=False),
    Column("contract_version", String(64), nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("scores", JSON, nullable=False),  # {dimension: score or null}
    Column("breaches", JSON, nullable=False),  # [{dimension, score, threshold}]
    Column("notes", JSON, nullable=False),
    Column("at", TS, nullable=False),  # the `now` the run measured against
    Column("duration_ms", Integer),
)
Index("ix_health_runs_source_at", health_runs.c.source, health_runs.c.at)

health_scores = Table(
    "health_scores",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("health_runs.id"), nullable=False),
    Column("dimension", String(32), nullable=False),
    Column("field", String(200), nullable=False),  # a field, a consistency rule, or "*" (dimension)
    Column("score", Float),  # a share in [0, 1]; NULL when nothing was measured
    Column("checked", BigInteger, nullable=False),
    Column("failed", BigInteger, nullable=False),
    Column("details", JSON, nullable=False),
)
Index("ix_health_scores_run_id", health_scores.c.run_id)
Index("ix_health_scores_dimension_field", health_scores.c.dimension, health_scores.c.field)

health_schedule = Table(
    "health_schedule",
    metadata,
    Column("slot", String(100), primary_key=True),  # "store@<start of the period, ISO>"
    Column("claimed_at", TS, nullable=False),
    Column("run_id", Integer),  # set once the run is stored
)
