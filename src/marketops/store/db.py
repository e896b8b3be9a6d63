"""Open the store: one engine factory for SQLite (WAL, BEGIN IMMEDIATE) and PostgreSQL.

SQLite allows one writer; taking the write lock at BEGIN (IMMEDIATE) instead of at the first write
turns lock upgrades (which fail with SQLITE_BUSY mid-transaction) into a wait at the start.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

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
        with engine.connect() as conn, write_transaction(conn):
            yield conn

    return begin


@contextmanager
def write_transaction(conn: Connection) -> Iterator[Connection]:
    """A write transaction on a connection the caller holds (SQLite: `BEGIN IMMEDIATE`, as
    `engine.begin()` does): a bulk writer keeps one connection, and its page cache, throughout."""
    conn.info[_WRITE] = True
    try:
        with conn.begin():
            yield conn
    finally:
        conn.info.pop(_WRITE, None)


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
            # before anything is written: a new store takes it, an existing one keeps its own
            cur.execute(f"PRAGMA page_size={PAGE_SIZE}")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # 64 MB page cache (default 2 MB): at a million leads the email, company and lead_id
            # indexes no longer fit the default and every batch insert re-reads their pages
            cur.execute(f"PRAGMA cache_size=-{CACHE_KIB_DEFAULT}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):  # type: ignore[no-untyped-def]
            # writers (engine.begin()) take the lock up front; readers (engine.connect()) don't,
            # so a read never waits for, or blocks, a writer (WAL gives it a snapshot)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get(_WRITE) else "BEGIN")

        @event.listens_for(engine, "checkin")
        def _on_checkin(dbapi_conn, record):  # type: ignore[no-untyped-def]
            # a bulk checkpoint interval lasts while its writer holds the connection: the next
            # user of the pooled connection gets the store's own (`checkpoint_every`)
            if record.info.pop(_BULK_WAL, False) and dbapi_conn is not None:
                dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES_DEFAULT}")
            if record.info.pop(_BULK_CACHE, False) and dbapi_conn is not None:
                dbapi_conn.execute(f"PRAGMA cache_size=-{CACHE_KIB_DEFAULT}")

        engine.begin = _write_begin(engine)  # type: ignore[method-assign]
        return engine
    return create_engine(
        url, pool_size=pool_size, max_overflow=4 * pool_size, pool_pre_ping=True, **kwargs
    )


def alembic_config(engine: Engine) -> Any:  # alembic.config.Config
    from alembic.config import Config  # imported on use: most CLI calls never migrate

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent). A store already at the scripts'
    heads is left alone without loading Alembic: every CLI call opens the store, and importing
    Alembic and its migration scripts cost more than most commands."""
    heads = script_heads()
    if heads is not None and _stored_heads(engine) == heads:
        return
    from alembic import command

    command.upgrade(alembic_config(engine), "heads")


_REVISION = re.compile(r"""^(down_revision|revision)\s*(?::[^=]*)?=\s*(.+)$""", re.M)


@cache
def script_heads() -> frozenset[str] | None:
    """The migration scripts' heads (revisions no other script names as its parent), read from
    the files' `revision = …` / `down_revision = …` lines; None if a file cannot be read so."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(
            (k, re.findall(r"['\"]([^'\"]+)['\"]", v))
            for k, v in _REVISION.findall(path.read_text(encoding="utf-8"))
        )
        if len(found.get("revision", ())) != 1 or "down_revision" not in found:
            return None
        revisions.update(found["revision"])
        parents.update(found["down_revision"])
    return frozenset(revisions - parents)


def _stored_heads(engine: Engine) -> frozenset[str] | None:
    try:
        with engine.connect() as conn:
            return frozenset(
                conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars()
            )
    except DBAPIError:  # no alembic_version table yet: a new store
        return None


def is_current(engine: Engine) -> bool:
    return "alembic_version" in inspect(engine).get_table_names()


# SQLite page size of a new store, bytes (SQLite's default 4096). A commit writes each dirty page
# to the WAL as one frame (two writes) and a checkpoint copies it back: a bulk write of leads
# (~2 KB each, mostly appended) moves the same bytes in fewer frames (a SQLite-only replay of the
# batch writer at 300,000 leads: commit 6.9-11 µs a lead with 4 KB pages, 2.9-3.6 with 8 KB,
# 2.3-2.4 with 16 KB). 16 KB cost the real-time path (a capture dirties a few random pages):
# server CPU 2.1-2.3 -> 2.3-2.6 ms a request, p99 10-16 -> 17-20 ms; 8 KB kept it (2.1 ms,
# p99 12-14). A store keeps the size it was created with.
PAGE_SIZE = 8192

# SQLite: WAL pages between automatic checkpoints. The store keeps SQLite's default; a bulk
# writer (batch ingest, a journey drain) raises it while it commits batch after batch, so the
# hot index pages are copied back into the database file once, not at every commit.
WAL_PAGES_DEFAULT = 1000
WAL_PAGES_BULK = 100_000  # ~800 MB of WAL at most with `PAGE_SIZE` pages (~400 MB with 4 KB)


_BULK_WAL = "marketops_bulk_wal"

# SQLite page cache per connection, KiB. A bulk writer raises it while it writes: at a million
# leads the randomly keyed indexes (email, company domain and key) outgrow the store's own, and
# every insert into them read a page back from the file (`cache_size`).
CACHE_KIB_DEFAULT = 65536
CACHE_KIB_BULK = 262144
_BULK_CACHE = "marketops_bulk_cache"


def cache_size(conn: Connection, kib: int) -> None:
    """Set this SQLite connection's page cache (no-op on PostgreSQL); any other than the
    store's own is set back when the connection returns to the pool."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size=-{int(kib)}")
        conn.connection.info[_BULK_CACHE] = kib != CACHE_KIB_DEFAULT


def checkpoint_now(engine: Engine) -> None:
    """SQLite: copy the WAL's committed pages back into the database file now, outside any
    transaction (PASSIVE: waits for no reader or writer); a no-op on PostgreSQL. A bulk writer
    that put checkpoints off (`checkpoint_every`) calls it when its run is over, so the next run
    starts on a short WAL instead of paying for this one's pages in the middle of its own."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:  # the driver's connection: no BEGIN around the pragma
            conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def checkpoint_behind(engine: Engine) -> threading.Thread:
    """`checkpoint_now` in a thread of its own, started now; join it before relying on it.

    A bulk writer starts it when its last transactions are under way: SQLite runs the copy
    without the GIL and beside the writer (a passive checkpoint lets a writer append), on the
    core its finished workers left idle, instead of in the commit of the run's closing
    transaction (~1 s after a million leads, with `WAL_PAGES_BULK`)."""
    thread = threading.Thread(
        target=checkpoint_now, args=(engine,), name="marketops-checkpoint", daemon=True
    )
    thread.start()
    return thread


def checkpoint_every(conn: Connection, pages: int) -> None:
    """Set this SQLite connection's automatic checkpoint interval (no-op on PostgreSQL); any
    other than the store's own is set back when the connection returns to the pool."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={int(pages)}")
        conn.connection.info[_BULK_WAL] = pages != WAL_PAGES_DEFAULT
