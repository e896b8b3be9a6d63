"""`checkpoint_behind`: a passive checkpoint in its own thread, beside a writer that goes on."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from marketops.store.db import (
    PAGE_SIZE,
    WAL_PAGES_BULK,
    checkpoint_behind,
    create_store_engine,
    write_transaction,
)


def test_checkpoint_behind_copies_the_wal_while_the_writer_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    engine = create_store_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as held:
            raw = held.connection.driver_connection
            raw.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES_BULK}")  # the writer's commits
            with write_transaction(held):  # checkpoint nothing themselves
                held.execute(text("CREATE TABLE t (x)"))
                held.execute(
                    text(
                        "INSERT INTO t WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL"
                        " SELECT v + 1 FROM n WHERE v < 20000) SELECT v FROM n"
                    )
                )
            pages = raw.execute("PRAGMA page_count").fetchone()[0]
            assert pages > 10
            assert path.stat().st_size < pages * PAGE_SIZE  # the rows are in the WAL only
            behind = checkpoint_behind(engine)
            with write_transaction(held):  # the writer goes on meanwhile
                held.execute(text("INSERT INTO t VALUES (-1)"))
            behind.join(timeout=30)
            assert not behind.is_alive()
            # the first transaction's pages are in the database file now
            assert path.stat().st_size >= pages * PAGE_SIZE
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 20001
    finally:
        engine.dispose()
