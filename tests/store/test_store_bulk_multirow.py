"""`execute_many(…, multirow=True)`: the rows, their order and the written count that one
statement a row gives, conflicts included (SQLite; PostgreSQL takes its own path)."""

from __future__ import annotations

from sqlalchemy import text

from marketops.store import bulk
from marketops.store.bulk import execute_many

SQL = "INSERT INTO multirow_probe (k, v) VALUES (?, ?)"


def _table(conn) -> None:  # type: ignore[no-untyped-def]
    conn.exec_driver_sql(
        "CREATE TABLE multirow_probe (id INTEGER PRIMARY KEY, k TEXT NOT NULL UNIQUE, v INTEGER)"
    )


def test_multirow_inserts_what_one_statement_a_row_inserts(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    monkeypatch.setattr(bulk, "SQLITE_ROWS_PER_INSERT", 7)  # several statements and a short one
    rows = [(f"k{i}", i) for i in range(40)] + [("k5", -1), ("k40", 40), ("k40", -2)]
    stored = {}
    for multirow in (False, True):
        engine = create_engine(f"sqlite:///{tmp_path / f'{multirow}.db'}")
        with engine.begin() as conn:
            _table(conn)
            written = execute_many(
                conn, SQL, rows, suffix=" ON CONFLICT (k) DO NOTHING", multirow=multirow
            )
            stored[multirow] = (
                written,
                conn.execute(text("SELECT id, k, v FROM multirow_probe ORDER BY id")).all(),
            )
        engine.dispose()
    assert stored[True] == stored[False]
    assert stored[True][0] == 41 and stored[True][1][-1] == (41, "k40", 40)
