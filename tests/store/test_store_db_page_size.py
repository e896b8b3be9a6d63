"""A new SQLite store takes `PAGE_SIZE` pages; an existing one keeps the size it was made with."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from marketops.store.db import PAGE_SIZE, create_store_engine


def _page_size(url: str) -> int:
    engine = create_store_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql("PRAGMA page_size").scalar_one())
    finally:
        engine.dispose()


def test_new_store_takes_the_page_size(tmp_path: Path) -> None:
    assert PAGE_SIZE != 4096  # the point of the setting: not SQLite's default
    assert _page_size(f"sqlite:///{tmp_path / 'new.db'}") == PAGE_SIZE


def test_existing_store_keeps_its_page_size(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA page_size=4096")
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("CREATE TABLE t (x)")
        raw.execute("INSERT INTO t VALUES (1)")
    raw.close()
    assert _page_size(f"sqlite:///{path}") == 4096
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT x FROM t").fetchall() == [(1,)]
    raw.close()
