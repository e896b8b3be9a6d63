"""Open the store: one engine factory for SQLite (WAL, BEGIN IMMEDIATE) and PostgreSQL.

SQLite allows one writer; taking the write lock at BEGIN (IMMEDIATE) instead of at the first write
turns lock upgrades (which fail with SQLITE_BUSY mid-transaction) into a wait at the start.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).parent / "migrations"


def _normalize_url(url: str) -> str:
    u = make_url(url)
    if u.get_backend_name() == "postgresql" and u.get_driver_name() in ("", "psycopg2"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


_WRITE = "marketops_write"


def _write_begin(engine: Engine):  # type: ignore[no-untyped-def]
    """`engine.begin()` for SQLite: marks the connection as a writer for the begin event."""

    @contextmanager
    def begin() -> Iterator[Connection]:
        with engine.connect() as conn:
            conn.info[_WRITE] = True
            try:
                with conn.begin():
                    yield conn
            finally:
                conn.info.pop(_WRITE, None)

    return begin


def create_store_engine(url: str, *, pool_size: int = 10, **kwargs: Any) -> Engine:
    url = _normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # 64 MB page cache (default 2 MB): at a million leads the email, company and lead_id
            # indexes no longer fit the default and every batch insert re-reads their pages
            cur.execute("PRAGMA cache_size=-65536")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):  # type: ignore[no-untyped-def]
            # writers (engine.begin()) take the lock up front; readers (engine.connect()) don't,
            # so a read never waits for, or blocks, a writer (WAL gives it a snapshot)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get(_WRITE) else "BEGIN")

        engine.begin = _write_begin(engine)  # type: ignore[method-assign]
        return engine
    return create_engine(
        url, pool_size=pool_size, max_overflow=4 * pool_size, pool_pre_ping=True, **kwargs
    )


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    command.upgrade(alembic_config(engine), "heads")


def is_current(engine: Engine) -> bool:
    return "alembic_version" in inspect(engine).get_table_names()
