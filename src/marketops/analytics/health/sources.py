"""Put the data to score in an Ibis engine: a CSV/Parquet/JSON-lines file, or the store's leads.

DuckDB's sqlite/postgres scanner extensions need a download we cannot count on, so:
- a PostgreSQL store is scored in place (the same Ibis expressions, compiled for PostgreSQL);
- a SQLite store (or `--engine duckdb://` on PostgreSQL) is streamed in chunks through SQLAlchemy
  into Arrow batches and DuckDB.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import Engine, inspect, select

from marketops.analytics.engines import connect
from marketops.errors import MarketopsError, Problem
from marketops.store.schema import leads

CHUNK_ROWS = 50_000
# Columns of the leads table the health checks can use (JSON columns stay behind).
STORE_COLUMNS = tuple(
    c.name for c in leads.columns if c.name not in ("flags", "warnings", "attributes", "consent")
)
STORE_TIMESTAMP = "updated_at"
FILE_TIMESTAMPS = ("updated_at", "occurred_at", "created_at")
IDENTITY_TABLE = "identity_links"  # written by identity resolution: lead_id -> identity_id
_LINKS_SCHEMA = pa.schema([pa.field("lead_id", pa.string()), pa.field("identity_id", pa.string())])


@dataclass
class Source:
    con: Any  # the Ibis backend
    table: Any  # the Ibis table to score
    name: str  # "store" or the file name, as stored with each run
    engine: str  # the backend's name
    outside: frozenset[str] = frozenset()  # contract fields kept outside this table
    default_ts: str | None = None

    def close(self) -> None:
        if self.engine == "duckdb":
            self.con.disconnect()


def _arrow_type(col: Any) -> pa.DataType:
    from sqlalchemy import Boolean, Float, Integer

    if col.name in ("created_at", "updated_at"):
        return pa.timestamp("us", tz="UTC")
    t = col.type
    if isinstance(t, Boolean):
        return pa.bool_()
    if isinstance(t, Integer):
        return pa.int64()
    if isinstance(t, Float):
        return pa.float64()
    return pa.string()


def store_batches(engine: Engine, chunk_rows: int = CHUNK_ROWS) -> Iterator[pa.RecordBatch]:
    """The leads table as Arrow record batches, streamed (constant memory per chunk)."""
    cols = [leads.c[n] for n in STORE_COLUMNS]
    schema = pa.schema([pa.field(c.name, _arrow_type(c)) for c in cols])
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=chunk_rows).execute(
            select(*cols)
        )
        for part in result.partitions(chunk_rows):
            columns = list(zip(*part, strict=True))
            yield pa.record_batch(
                [pa.array(v, type=f.type) for v, f in zip(columns, schema, strict=True)],
                schema=schema,
            )


def store_schema() -> pa.Schema:
    return pa.schema([pa.field(n, _arrow_type(leads.c[n])) for n in STORE_COLUMNS])


def open_store(engine: Engine, outside: frozenset[str], engine_url: str | None = None) -> Source:
    """The leads table in an engine: in place on PostgreSQL, else copied into DuckDB."""
    backend = engine.url.get_backend_name()
    if backend == "postgresql" and (engine_url is None or engine_url.startswith("postgres")):
        url = engine_url or engine.url.render_as_string(hide_password=False)
        con = connect(url)
        t = _with_identity(con, con.table("leads").select(*STORE_COLUMNS))
        return Source(con, t, "store", "postgres", outside, STORE_TIMESTAMP)
    if engine_url is not None and not engine_url.startswith("duckdb"):
        raise MarketopsError(
            f"cannot score a {backend} store on {engine_url!r}",
            [Problem("--engine", "unsupported here", "use duckdb:// (or the PostgreSQL store)")],
        )
    con = connect(engine_url or "duckdb://")
    reader = pa.RecordBatchReader.from_batches(store_schema(), store_batches(engine))
    con.raw_sql("DROP TABLE IF EXISTS leads")
    con.con.register("__health_leads", reader)
    con.raw_sql("CREATE TABLE leads AS SELECT * FROM __health_leads")
    con.con.unregister("__health_leads")
    if IDENTITY_TABLE in inspect(engine).get_table_names():
        links = pa.RecordBatchReader.from_batches(_LINKS_SCHEMA, identity_batches(engine))
        con.con.register("__health_links", links)
        con.raw_sql(f"CREATE TABLE {IDENTITY_TABLE} AS SELECT * FROM __health_links")
        con.con.unregister("__health_links")
    t = _with_identity(con, con.table("leads"))
    return Source(con, t, "store", "duckdb", outside, STORE_TIMESTAMP)


def identity_batches(engine: Engine, chunk_rows: int = CHUNK_ROWS) -> Iterator[pa.RecordBatch]:
    """(lead_id, identity_id) of the identity-resolution links, streamed."""
    from sqlalchemy import column, table

    links = table(IDENTITY_TABLE, column("lead_id"), column("identity_id"))
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=chunk_rows).execute(
            select(links.c.lead_id, links.c.identity_id)
        )
        for part in result.partitions(chunk_rows):
            a, b = zip(*part, strict=True)
            yield pa.record_batch(
                [pa.array(a, pa.string()), pa.array(b, pa.string())], schema=_LINKS_SCHEMA
            )


def _with_identity(con: Any, t: Any) -> Any:
    """Add `identity_id` (the lead's identity cluster) when identity resolution has run."""
    if IDENTITY_TABLE not in con.list_tables():
        return t
    links = con.table(IDENTITY_TABLE)
    links = links.select(__lead=links.lead_id.cast("string"), identity_id=links.identity_id)
    return t.left_join(links, t.id == links["__lead"]).drop("__lead")


def open_file(path: Path) -> Source:
    """CSV (every column as text, as the pipeline reads it), Parquet or JSON lines, in DuckDB."""
    if not path.exists():
        raise MarketopsError(f"{path}: file not found", [Problem(str(path), "file not found")])
    con = connect("duckdb://")
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()
    p = str(path)
    try:
        if suffix in (".csv", ".csv.gz", ".txt", ".tsv"):
            t = con.read_csv(p, table_name="data", all_varchar=True, header=True)
        elif suffix in (".parquet", ".pq"):
            t = con.read_parquet(p, table_name="data")
        elif suffix in (".jsonl", ".ndjson", ".json", ".jsonl.gz"):
            t = con.read_json(p, table_name="data")
        else:
            raise MarketopsError(
                f"{path}: unsupported file type",
                [Problem(str(path), f"extension {suffix!r}", "use .csv, .parquet or .jsonl")],
            )
    except MarketopsError:
        con.disconnect()
        raise
    except Exception as exc:  # duckdb's own parse errors name the line; pass them on
        con.disconnect()
        raise MarketopsError(f"{path}: cannot read", [Problem(str(path), str(exc))]) from exc
    ts = next((c for c in FILE_TIMESTAMPS if c in t.columns), None)
    return Source(con, t, path.name, "duckdb", frozenset(), ts)
