"""Open an Ibis backend from one URL, so every analytic runs unchanged on DuckDB, PostgreSQL or Spark.

URLs:
- ``duckdb://`` or ``duckdb://:memory:``: an in-memory DuckDB (the default)
- ``duckdb:///relative/or/absolute.duckdb`` or a bare path ending in ``.duckdb``: a DuckDB file
- ``postgresql://…`` / ``postgresql+psycopg://…`` / ``postgres://…``: PostgreSQL (extra ``[postgres]``)
- ``pyspark://`` (optionally ``pyspark://local[2]``): a local Spark session (extra ``[spark]``)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from marketops.errors import MarketopsError, Problem

DEFAULT_URL = "duckdb://"


def connect(url: str | None = None, *, spark_session: Any = None) -> Any:
    """An Ibis backend for `url`; `spark_session` lets a caller reuse one Spark session (they are slow)."""
    url = (url or DEFAULT_URL).strip()
    import ibis

    if url.startswith("duckdb:") or url.endswith(".duckdb") or url == ":memory:":
        return ibis.duckdb.connect(_duckdb_path(url))
    if url.startswith(("postgresql", "postgres:")):
        return _postgres(ibis, url)
    if url.startswith("pyspark:"):
        return _pyspark(ibis, url, spark_session)
    raise MarketopsError(
        f"unsupported analytics engine URL {url!r}",
        [
            Problem(
                "engine",
                f"unknown scheme in {url!r}",
                "use duckdb:// (memory), duckdb:///file.duckdb, postgresql://… or pyspark://",
            )
        ],
    )


def _duckdb_path(url: str) -> str:
    if url in ("duckdb:", "duckdb://", "duckdb://:memory:", ":memory:"):
        return ":memory:"
    rest = url.removeprefix("duckdb://").removeprefix("duckdb:")
    if url.startswith("duckdb:///"):
        rest = url.removeprefix("duckdb:///")
        # duckdb:////abs/path keeps its leading slash; duckdb:///rel/path is relative
        if rest.startswith("/"):
            return rest
    return str(Path(rest))


def _postgres(ibis: Any, url: str) -> Any:
    # Ibis wants postgres://; SQLAlchemy-style driver suffixes (+psycopg) are ours to strip.
    _scheme, sep, rest = url.partition("://")
    if not sep:
        raise MarketopsError(
            f"bad PostgreSQL URL {url!r}",
            [Problem("engine", "missing ://", "postgresql://user@host:5432/db")],
        )
    try:
        return ibis.connect("postgres://" + rest)
    except ImportError as exc:
        raise MarketopsError(
            "PostgreSQL support is not installed",
            [Problem("engine", str(exc), "pip install 'marketops[postgres]'")],
        ) from exc


def _pyspark(ibis: Any, url: str, session: Any) -> Any:
    if session is None:
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise MarketopsError(
                "Spark support is not installed",
                [Problem("engine", str(exc), "pip install 'marketops[spark]'")],
            ) from exc
        master = url.removeprefix("pyspark://") or "local[2]"
        session = (
            SparkSession.builder.master(master)
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            # local mode: the default 200 shuffle partitions cost more than the work itself
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.ui.showConsoleProgress", "false")
            .getOrCreate()
        )
    return ibis.pyspark.connect(session)


def refuse_store_database(con: Any) -> None:
    """Loading analytic tables replaces tables named `touchpoints`, `opportunities`, …; on the
    store's own PostgreSQL database those are the store's tables, so never load into a store."""
    if con.name == "postgres" and "alembic_version" in con.list_tables():
        raise MarketopsError(
            "the analytics engine URL points at a marketops store",
            [
                Problem(
                    "engine",
                    "this PostgreSQL database holds a marketops store (alembic_version found); "
                    "loading would replace its tables",
                    "use a separate database for analytics, or the default duckdb://",
                )
            ],
        )
