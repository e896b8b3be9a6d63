"""Batch ingestion on SQLite: workers stage a chunk's rows in their own SQLite file; the writer
moves the rows it keeps into the store with set-based SQL.

Handing rows to the writer as pickled tuples cost it ~9 µs a row to unpickle and ~11 µs to bind
them into `executemany`; here a worker inserts them into a file of plain tables (no indexes, no
journal) and the writer runs one `INSERT … SELECT` per table inside its transaction, reading the
file through `ATTACH`. Rows keep the one-process order: every staged row carries its record's
position in the chunk (`i`, and `k` for a record's events), and the rows the writer adds itself
(its own decisions, `routed` events) are merged in by the same keys.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Sequence
from itertools import chain
from typing import Any

from sqlalchemy import Connection

from marketops.store.bulk import execute_many

STAGE = "batch_stage"  # the attached files' schema names: STAGE0, STAGE1, …
MAX_ATTACHED = 8  # stage files one transaction may hold (SQLite attaches at most 10)
ROUTED_K = 1_000_000  # a kept speculation's `routed` event follows its staged events


PREFIX = "marketops-stage-"


def stage_dir() -> tempfile.TemporaryDirectory[str]:
    """A folder for one ingest's stage files, named after this process; folders left by an
    ingest whose process is gone (killed: no cleanup ran) are removed first. A re-run derives
    every stage file again from the input, so nothing in them is ever needed again."""
    root = tempfile.gettempdir()
    for name in os.listdir(root):
        if name.startswith(PREFIX) and not _alive(name[len(PREFIX) :].split("-", 1)[0]):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
    return tempfile.TemporaryDirectory(prefix=f"{PREFIX}{os.getpid()}-")


def _alive(pid: str) -> bool:
    """Is the process still there (a folder of another user's or one not named by us: yes)."""
    if not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _cols(names: Sequence[str]) -> str:
    return ", ".join(names)


STAGE_PAGE_SIZE = 65536  # bytes (`write_stage`)
STAGE_CACHE_KIB = 16384  # a chunk's file fits: no page leaves the cache before the commit


def write_stage(
    path: str,
    lead_cols: Sequence[str],
    leads: Sequence[Sequence[Any]] | StageRows,
    activity_cols: Sequence[str],
    activities: Sequence[Sequence[Any]] | StageRows,
    event_cols: Sequence[str],
    events: Sequence[Sequence[Any]] | StageRows,
) -> None:
    """A chunk's encoded rows into a new file (worker side): `leads`/`activities` rows are
    `(i, *cols)`, `events` rows `(i, k, *cols)` (or `StageRows` of them). No journal, no fsync:
    the file is scratch, a crash re-derives it from the input. 64 KB pages and a cache the size of the file: the
    ~7 MB of a 5,000-row chunk go out in a hundred page writes, not 1,600 (−1.5 µs a lead; the
    writer's `INSERT … SELECT` reads them no slower)."""
    if os.path.exists(path):
        os.remove(path)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(f"PRAGMA page_size={STAGE_PAGE_SIZE}")
        conn.execute(f"PRAGMA cache_size=-{STAGE_CACHE_KIB}")
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("BEGIN")
        for table, head, cols, rows in (
            ("leads", "i INTEGER PRIMARY KEY", lead_cols, leads),
            ("activities", "i INTEGER PRIMARY KEY", activity_cols, activities),
            ("events", "i INTEGER, k INTEGER", event_cols, events),
        ):
            conn.execute(f"CREATE TABLE {table} ({head}, {_cols(cols)})")
            if not isinstance(rows, StageRows):
                rows = StageRows(len(rows[0]) if rows else 1, rows)
            rows.insert(conn, table)
        conn.execute("COMMIT")
    finally:
        conn.close()


STAGE_ROWS_PER_INSERT = 100  # rows of one INSERT (`StageRows`): 50-250 alike, 1,000 dearer


class StageRows:
    """One stage table's rows for `write_stage`, `STAGE_ROWS_PER_INSERT` to a flat list: the
    values of one multi-row INSERT (`VALUES (…), (…)`: sqlite3 resets and steps a statement,
    and hands the GIL back and forth, once a statement, not once a row: −1.1 µs a lead).

    `settle` flattens the rows added since the last call; called every few records it reads
    them while they are still in the CPU's cache (a whole chunk's rows flattened at its end
    cost ~1.5 µs a record)."""

    __slots__ = ("per", "rows", "statements", "width")

    def __init__(self, width: int, rows: Sequence[Sequence[Any]] = ()) -> None:
        self.width = width
        self.per = max(1, min(STAGE_ROWS_PER_INSERT, 32_000 // width))  # SQLite's bind limit
        self.rows: list[Sequence[Any]] = list(rows)  # added, not yet flattened
        self.statements: list[list[Any]] = []

    def settle(self) -> None:
        rows, per = self.rows, self.per
        if len(rows) >= per:
            done = len(rows) - len(rows) % per
            self.statements += [
                list(chain.from_iterable(rows[k : k + per])) for k in range(0, done, per)
            ]
            del rows[:done]  # in place: callers may hold `rows`

    def insert(self, conn: sqlite3.Connection, table: str) -> None:
        """Every row into `table`, in the order added."""
        self.settle()
        one = f"({', '.join(['?'] * self.width)})"
        if self.statements:
            sql = f"INSERT INTO {table} VALUES {', '.join([one] * self.per)}"
            conn.executemany(sql, self.statements)
        if self.rows:
            sql = f"INSERT INTO {table} VALUES {', '.join([one] * len(self.rows))}"
            conn.execute(sql, list(chain.from_iterable(self.rows)))


def _temp_tables(
    cur: sqlite3.Cursor, activity_cols: Sequence[str], event_cols: Sequence[str]
) -> None:
    """This connection's scratch tables for what the writer adds to a chunk, emptied."""
    for name, head, cols in (
        ("batch_kept", "i INTEGER PRIMARY KEY, queue, owner, whole, route", ()),
        ("batch_routes", "r INTEGER PRIMARY KEY, actor, data", ()),
        ("batch_activities", "i INTEGER PRIMARY KEY", activity_cols),
        ("batch_events", "i INTEGER, k INTEGER", event_cols),
    ):
        rest = f", {_cols(cols)}" if cols else ""
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({head}{rest})")
        cur.execute(f"DELETE FROM temp.{name}")


# a `routed` event's columns from a kept record's stage row (`s`) and route (`r`); `at` bound
_ROUTED = {"lead_id": "s.id", "at": "?", "kind": "'routed'", "actor": "r.actor", "data": "r.data"}


def move_kept(
    conn: Connection,
    path: str,
    lead_cols: Sequence[str],
    activity_cols: Sequence[str],
    event_cols: Sequence[str],
    kept: Sequence[Sequence[Any]],
    activities: Sequence[Sequence[Any]],
    events: Sequence[Sequence[Any]],
    alias: str = f"{STAGE}0",
    routes: Sequence[tuple[int, str, str]] = (),
    at: Any = None,
) -> None:
    """Inside the writer's transaction: the staged rows of the `kept` records (`(i, queue, owner,
    whole, route)`; `whole` 0 when a later record of the chunk replaced the lead row) into the
    store, merged in record order with the writer's own `activities` `(i, *cols)` and `events`
    `(i, k, *cols)`. Lead rows first, then activities, then events, as `persist` writes them.
    A kept record's `routed` event (after its staged events) is its `route` of `routes`
    (`(route, actor, data)`: a chunk's leads mostly share a handful) at time `at`, written by
    SQL, not handed over row by row.
    The file stays attached as `alias` until `detach` (SQLite cannot detach inside a
    transaction); one transaction moves several chunks under distinct aliases."""
    raw = conn.connection.driver_connection
    cur = raw.cursor()
    try:
        attached = {name for _, name, _ in cur.execute("PRAGMA database_list")}
        if alias not in attached:  # else a retried transaction: still attached
            cur.execute(f"ATTACH DATABASE ? AS {alias}", (path,))
        _temp_tables(cur, activity_cols, event_cols)
        # hundreds of rows a statement (`execute_many`'s multirow): ~0.6 µs a row less
        for table, width, rows in (
            ("batch_kept", 5, kept),
            ("batch_routes", 3, routes),
            ("batch_activities", len(activity_cols) + 1, activities),
            ("batch_events", len(event_cols) + 2, events),
        ):
            marks = ", ".join(["?"] * width)
            execute_many(conn, f"INSERT INTO temp.{table} VALUES ({marks})", rows, multirow=True)
        staged = ", ".join(f"s.{c}" for c in lead_cols)
        cur.execute(
            f"INSERT INTO leads ({_cols(lead_cols)}, queue, owner)"
            f" SELECT {staged}, k.queue, k.owner FROM {alias}.leads s"
            " CROSS JOIN temp.batch_kept k ON k.i = s.i WHERE k.whole ORDER BY s.i"
        )
        acts, evs = _cols(activity_cols), _cols(event_cols)
        routed = ", ".join(_ROUTED[c] for c in event_cols)  # a kept record's `routed` event
        cur.execute(
            f"INSERT INTO activities ({acts}) SELECT {acts} FROM ("
            f"SELECT i, {acts} FROM {alias}.activities"
            " WHERE i IN (SELECT i FROM temp.batch_kept)"
            f" UNION ALL SELECT i, {acts} FROM temp.batch_activities) ORDER BY i"
        )
        cur.execute(
            f"INSERT INTO lead_events ({evs}) SELECT {evs} FROM ("
            f"SELECT i, k, {evs} FROM {alias}.events WHERE i IN (SELECT i FROM temp.batch_kept)"
            f" UNION ALL SELECT k.i, {ROUTED_K}, {routed}"
            f" FROM temp.batch_kept k JOIN {alias}.leads s ON s.i = k.i"
            " JOIN temp.batch_routes r ON r.r = k.route"
            f" UNION ALL SELECT i, k, {evs} FROM temp.batch_events) ORDER BY i, k",
            (at,),
        )
    finally:
        cur.close()


def detach(raw: Any, path: str, alias: str = f"{STAGE}0") -> None:
    """After the transaction (committed or rolled back): let go of the file and delete it."""
    with contextlib.suppress(sqlite3.OperationalError):  # not attached: failed before the move
        raw.execute(f"DETACH DATABASE {alias}")
    remove(path)


def remove(path: str) -> None:
    """Delete a stage file (gone already: fine)."""
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
