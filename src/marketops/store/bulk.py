"""Bulk inserts through the driver's executemany, inside the caller's SQLAlchemy transaction.

SQLAlchemy Core spends ~25 µs a row on parameter processing (type processors, JSON, datetimes);
for the batch path that was over half the pipeline's time. Here each column's conversion is decided
once and rows go to sqlite3 / psycopg directly, producing exactly what SQLAlchemy would store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import JSON, Boolean, Connection, Table
from sqlalchemy.exc import IntegrityError

from marketops.store.types import UTCDateTime


def json_text(v: Any) -> str | None:
    """A JSON column's text (SQLAlchemy's JSON type stores Python None as JSON null: so here).

    orjson without the options first: half the cost, and the same text whenever it succeeds; it
    raises on exactly the values the options are for (a type only `default=str` encodes, a key
    that is not a `str`), and those are encoded with them."""
    try:
        return orjson.dumps(v).decode()
    except TypeError:  # orjson.JSONEncodeError
        return orjson.dumps(v, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def _sqlite_time(v: datetime | None) -> str | None:
    if v is None:
        return None
    if v.tzinfo is None:
        raise ValueError("naive datetime given to the store; pass an aware (UTC) datetime")
    # the same text SQLAlchemy's SQLite DATETIME writes; isoformat is ~3x faster than strftime
    return v.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _pg_time(v: datetime | None) -> datetime | None:
    if v is not None and v.tzinfo is None:
        raise ValueError("naive datetime given to the store; pass an aware (UTC) datetime")
    return v


def bind_time(v: datetime, dialect: str) -> Any:
    """An aware datetime as the store keeps it: SQLAlchemy's SQLite DATETIME text, else as is."""
    return _sqlite_time(v) if dialect == "sqlite" else _pg_time(v)


def _converter(coltype: Any, dialect: str) -> Callable[[Any], Any] | None:
    if isinstance(coltype, JSON):
        return json_text
    if isinstance(coltype, UTCDateTime):
        return _sqlite_time if dialect == "sqlite" else _pg_time
    if isinstance(coltype, Boolean) and dialect == "sqlite":
        return lambda v: None if v is None else int(bool(v))
    return None


SMALL_BATCH = 50  # rows; above this, executemany (PostgreSQL: pipeline mode) is cheaper


def _last_one(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`f` remembering its last answer: a chunk's rows mostly carry the same instant (`now`),
    often as equal but distinct objects (each person's `now + delay`)."""
    last: list[Any] = [object(), None]

    def conv(v: Any) -> Any:
        if v is not last[0] and v != last[0]:
            last[0], last[1] = v, f(v)
        return last[1]

    return conv


def param_marker(dialect: str) -> str:
    """The driver's positional parameter: sqlite3 `?`, psycopg `%s`."""
    return "?" if dialect == "sqlite" else "%s"


def insert_sql(table: Table, cols: Sequence[str], dialect: str) -> str:
    marker = param_marker(dialect)
    return (
        f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join([marker] * len(cols))})"
    )


class RowEncoder:
    """One table's rows (tuples in `cols` order) as the driver takes them, built anywhere.

    Batch ingestion encodes rows in worker processes so the single writer only executes them.
    """

    def __init__(self, table: Table, cols: Sequence[str], dialect: str):
        self.table, self.cols, self.dialect = table, tuple(cols), dialect
        self.sql = insert_sql(table, cols, dialect)
        self._raw = [
            (i, f) for i, c in enumerate(cols) if (f := _converter(table.c[c].type, dialect))
        ]
        self._convs = [(i, _last_one(f) if f is _sqlite_time else f) for i, f in self._raw]

    def __call__(self, values: Sequence[Any]) -> tuple[Any, ...]:
        if not self._convs:
            return tuple(values)
        out = list(values)
        for i, f in self._convs:
            out[i] = f(out[i])
        return tuple(out)

    def many(self, rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        """`[self(r) for r in rows]`, converted column by column: a time column's distinct
        instants are converted once each (a batch's rows mostly carry `now`), a JSON column
        through one map(). Thousands of rows a call: ~0.5 µs a row less."""
        if not rows:
            return []
        if not self._convs:
            return [tuple(r) for r in rows]
        columns: list[Any] = list(zip(*rows, strict=True))
        for i, f in self._raw:
            if f is _sqlite_time or f is _pg_time:
                memo = {v: f(v) for v in set(columns[i])}
                columns[i] = map(memo.__getitem__, columns[i])
            else:
                columns[i] = map(f, columns[i])
        return list(zip(*columns, strict=True))


SQLITE_ROWS_PER_INSERT = 500  # rows of one multi-row INSERT (`execute_many(…, multirow=True)`)


def execute_many(
    conn: Connection,
    sql: str,
    data: Sequence[Sequence[Any]],
    *,
    suffix: str = "",
    multirow: bool = False,
) -> int:
    """The driver's executemany inside the caller's transaction; SQLAlchemy's IntegrityError.

    `suffix` follows the VALUES list (e.g. `ON CONFLICT (col) DO NOTHING`). Returns the rows the
    driver reports written (an insert that skips conflicts writes fewer than `data`).
    `multirow` (SQLite, an INSERT): `SQLITE_ROWS_PER_INSERT` rows a statement (`VALUES (…),
    (…), …`) instead of one statement a row: the same rows in the same order, ~0.6 µs a row
    less (sqlite3 resets and steps its statement once a row). A failing row then undoes its
    whole statement, not just itself: for callers whose transaction fails with it anyway."""
    if not data:
        return 0
    raw = conn.connection.driver_connection
    cur = raw.cursor()
    dbapi = conn.dialect.dbapi
    try:
        if multirow and conn.dialect.name == "sqlite" and len(data) > 1 and " VALUES " in sql:
            head, _, row = sql.partition(" VALUES ")
            per = max(1, min(SQLITE_ROWS_PER_INSERT, 32_000 // len(data[0])))  # the bind limit
            written = 0
            for i in range(0, len(data), per):
                chunk = data[i : i + per]
                values = ", ".join([row] * len(chunk))
                cur.execute(f"{head} VALUES {values}{suffix}", [v for r in chunk for v in r])
                written += cur.rowcount
            return written
        if len(data) == 1:  # psycopg's executemany enters pipeline mode: 3x dearer
            cur.execute(sql + suffix, data[0])
        elif conn.dialect.name != "sqlite" and len(data) <= SMALL_BATCH and " VALUES " in sql:
            # a real-time capture's few events: one multi-row statement, one round trip
            head, _, row = sql.partition(" VALUES ")
            cur.execute(
                f"{head} VALUES {', '.join([row] * len(data))}{suffix}",
                [v for r in data for v in r],
            )
        else:
            cur.executemany(sql + suffix, data)
        return cur.rowcount
    except dbapi.IntegrityError as exc:  # type: ignore[union-attr]
        # callers (capture's retry on a concurrent first insert) expect SQLAlchemy's error
        raise IntegrityError(sql, None, exc) from exc
    finally:
        cur.close()


def bulk_insert(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], *, multirow: bool = False
) -> None:
    """`rows` (dicts with the same keys) into `table`; `multirow`: see `execute_many`."""
    if not rows:
        return
    cols = list(rows[0])
    dialect = conn.dialect.name
    convs = [_converter(table.c[c].type, dialect) for c in cols]
    # column-wise conversion: one map() per column beats a generator per row by ~3x
    columns = []
    for c, f in zip(cols, convs, strict=True):
        values = [r[c] for r in rows]
        if f is _sqlite_time or f is _pg_time:
            memo: dict[Any, Any] = {}  # many rows share `now`; convert each instant once
            values = [memo[v] if v in memo else memo.setdefault(v, f(v)) for v in values]
        elif f is not None:
            values = list(map(f, values))
        columns.append(values)
    execute_many(
        conn, insert_sql(table, cols, dialect), list(zip(*columns, strict=True)), multirow=multirow
    )


def update_by_id(conn: Connection, encode: RowEncoder, rows: Sequence[Sequence[Any]]) -> None:
    """Encoded rows (`encode.cols`, `id` last) written as `UPDATE … SET cols WHERE id`, through
    `execute_many` in the caller's transaction."""
    m = param_marker(conn.dialect.name)
    sets = ", ".join(f"{c} = {m}" for c in encode.cols[:-1])
    execute_many(conn, f"UPDATE {encode.table.name} SET {sets} WHERE id = {m}", rows)


# --- reads ---------------------------------------------------------------------------------------
def _sqlite_read_time(v: str | None) -> datetime | None:
    return None if v is None else datetime.fromisoformat(v).replace(tzinfo=UTC)


def _pg_read_time(v: datetime | None) -> datetime | None:
    return None if v is None else v.astimezone(UTC)


def _reader(coltype: Any, dialect: str) -> Callable[[Any], Any] | None:
    if isinstance(coltype, JSON):  # read as text on both (see `_selected`), parsed by orjson
        return lambda v: None if v is None else orjson.loads(v)
    if isinstance(coltype, UTCDateTime):
        return _memo(_sqlite_read_time if dialect == "sqlite" else _pg_read_time)
    if isinstance(coltype, Boolean) and dialect == "sqlite":
        return lambda v: None if v is None else bool(v)
    return None


def _memo(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`f` remembering its answers by value: rows read together share instants (`now`, T0)."""
    seen: dict[Any, Any] = {}

    def conv(v: Any) -> Any:
        try:
            return seen[v]
        except KeyError:
            if len(seen) > 4096:
                seen.clear()
            out = seen[v] = f(v)
            return out

    return conv


# psycopg caches its parse of a query only up to 50 parameters; past that it parses the text
# again at every call (~1 ms for an `IN` list of 1,000 ids, measured). A raw cursor takes
# PostgreSQL's own `$n` markers and parses nothing.
_PG_PARSED_PARAMS = 50


def _selected(table: Table, col: str, dialect: str) -> str:
    """A JSON column is read as its text on PostgreSQL too: psycopg's own JSON loading (the
    standard library's, per value) cost ~3 µs a value, orjson on the text well under one."""
    if dialect == "postgresql" and isinstance(table.c[col].type, JSON):
        return f"{col}::text"
    return col


@lru_cache(maxsize=64)
def _numbered(sql: str) -> str:
    """`sql` with its `%s` markers numbered `$1, $2, …` (a psycopg RawCursor's markers)."""
    parts = sql.split("%s")
    return "".join(f"{p}${i}" for i, p in enumerate(parts[:-1], 1)) + parts[-1]


class RowDecoder:
    """Rows read through the driver as SQLAlchemy would return them (JSON parsed, aware UTC
    datetimes, booleans): the read side of RowEncoder, for hot paths that read thousands of rows
    a call. `sql` is `SELECT cols FROM table`; add the WHERE with the driver's `marker`."""

    def __init__(self, table: Table, cols: Sequence[str], dialect: str):
        self.cols = tuple(cols)
        self.marker = param_marker(dialect)
        self.sql = (
            f"SELECT {', '.join(_selected(table, c, dialect) for c in cols)} FROM {table.name}"
        )
        self._convs = [
            (i, f) for i, c in enumerate(cols) if (f := _reader(table.c[c].type, dialect))
        ]

    def fetch_raw(self, conn: Connection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Run `sql` in the caller's transaction; the driver's rows as they come (not decoded:
        for a caller that decodes only the few values it keeps, with `decoder`)."""
        if self.marker == "%s" and len(params) > _PG_PARSED_PARAMS and "%%" not in sql:
            from psycopg import RawCursor

            cur = RawCursor(conn.connection.driver_connection)
            try:
                cur.execute(_numbered(sql), tuple(params))
                return cur.fetchall()
            finally:
                cur.close()
        return driver_rows(conn, sql, params)

    def decoder(self, col: str) -> Callable[[Any], Any]:
        """The conversion `fetch` applies to column `col` (identity if none)."""
        i = self.cols.index(col)
        return next((f for j, f in self._convs if j == i), lambda v: v)

    def fetch(self, conn: Connection, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        """Run `sql` (selecting `cols` in order) in the caller's transaction; rows as dicts."""
        rows = self.fetch_raw(conn, sql, params)
        cols = self.cols
        if not self._convs:
            return [dict(zip(cols, r, strict=True)) for r in rows]
        return [dict(zip(cols, r, strict=True)) for r in decode_rows(rows, self)]


def decode_rows(rows: Sequence[Sequence[Any]], *parts: RowDecoder) -> list[tuple[Any, ...]]:
    """The driver's rows of a query selecting each decoder's `cols` in turn (a join reads two
    tables in one statement), decoded column-wise: one map() per converted column."""
    return list(zip(*decode_columns(rows, *parts), strict=True)) if rows else []


def decode_columns(rows: Sequence[Sequence[Any]], *parts: RowDecoder) -> list[tuple[Any, ...]]:
    """`decode_rows` as columns (a caller building objects per table zips the ones it needs)."""
    if not rows:
        return []
    columns = list(zip(*rows, strict=True))
    at = 0
    for part in parts:
        for i, f in part._convs:
            columns[at + i] = tuple(map(f, columns[at + i]))
        at += len(part.cols)
    return columns


def driver_rows(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """`sql` on the driver's own cursor, in the caller's transaction; its rows (none for a
    statement that returns none). For statements a batch runs every chunk: through SQLAlchemy,
    compiling one (an IN list of hundreds of values) cost more than running it."""
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.execute(sql, tuple(params))
        return cur.fetchall() if cur.description else []
    finally:
        cur.close()


# --- PostgreSQL: COPY for batches ---------------------------------------------------------------
def pg_copy(
    conn: Connection, table: str, cols: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Encoded rows into `table` with COPY (PostgreSQL): a few µs a row where executemany's
    pipeline costs ~10 µs of client CPU and a statement a row on the server."""
    cur = conn.connection.driver_connection.cursor()
    try:
        with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)
    finally:
        cur.close()


def pg_stage(
    conn: Connection, table: Table, cols: Sequence[str], rows: Sequence[Sequence[Any]]
) -> str:
    """COPY encoded rows into this session's temporary twin of `table` (emptied first, and at
    commit); returns its name, for an INSERT … SELECT / UPDATE … FROM that COPY cannot do."""
    name = f"stage_{table.name}"
    with conn.connection.driver_connection.cursor() as cur:
        cur.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {name} ON COMMIT DELETE ROWS AS"
            f" SELECT {', '.join(cols)} FROM {table.name} WITH NO DATA"
        )
        cur.execute(f"DELETE FROM {name}")
    pg_copy(conn, name, cols, rows)
    return name


def insert_rows(
    conn: Connection,
    encode: RowEncoder,
    rows: Sequence[Sequence[Any]],
    *,
    suffix: str = "",
    returning: str | None = None,
    multirow: bool = False,
) -> Any:
    """Encoded rows in, inside the caller's transaction: the driver's executemany, or on
    PostgreSQL above SMALL_BATCH rows COPY (straight in, or through `pg_stage` when a `suffix`
    such as ON CONFLICT or a RETURNING is wanted). Returns the RETURNING rows when asked
    (PostgreSQL only), else the number of rows written. `multirow`: see `execute_many`."""
    if conn.dialect.name != "postgresql" or len(rows) <= SMALL_BATCH:
        if returning:
            raise ValueError("RETURNING needs PostgreSQL and more than SMALL_BATCH rows")
        return execute_many(conn, encode.sql, rows, suffix=suffix, multirow=multirow)
    if not suffix and not returning:
        pg_copy(conn, encode.table.name, encode.cols, rows)
        return len(rows)
    stage = pg_stage(conn, encode.table, encode.cols, rows)
    cols = ", ".join(encode.cols)
    sql = f"INSERT INTO {encode.table.name} ({cols}) SELECT {cols} FROM {stage}{suffix}"
    with conn.connection.driver_connection.cursor() as cur:
        cur.execute(sql + (f" RETURNING {returning}" if returning else ""))
        return cur.fetchall() if returning else cur.rowcount
