"""Read touchpoints, conversions and costs from CSV/Parquet (or JSON records) into an Ibis engine.

Every bad row is reported with its file:line (CSV), row number (Parquet) or index (records) and the
field at fault; nothing is loaded while any problem remains, so no number is ever computed from a
silently shortened table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from marketops.analytics.attribution.schema import SCHEMAS
from marketops.errors import MarketopsError, Problem

MAX_PROBLEMS = 50
_TZ_SUFFIX = re.compile(r"(?:Z|z|[+-]\d{2}(?::?\d{2})?)$")
_MONEY = re.compile(r"^-?\d{1,16}(\.\d{1,2})?$")
_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n"}
REQUIRED = {
    "touchpoints": ("person_id", "ts"),
    "conversions": ("conversion_id", "ts", "kind"),
    "costs": ("day", "spend"),
}


def read_file(path: Path) -> pa.Table:
    """CSV (every column read as text, so validation sees what the user wrote) or Parquet."""
    if not path.exists():
        raise MarketopsError(f"{path}: file not found", [Problem(str(path), "file not found")])
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return pq.read_table(path)
        if suffix in (".csv", ".txt", ".gz"):
            import pyarrow.csv as pacsv

            names = pacsv.read_csv(
                path, read_options=pacsv.ReadOptions(block_size=1 << 16)
            ).column_names
            opts = pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=True
            )
            return pacsv.read_csv(path, convert_options=opts)
    except (pa.ArrowInvalid, OSError) as exc:
        raise MarketopsError(f"{path}: cannot read", [Problem(str(path), str(exc))]) from exc
    raise MarketopsError(
        f"{path}: unsupported file type",
        [Problem(str(path), f"unsupported extension {suffix!r}", "use .csv or .parquet")],
    )


class _Rows:
    """Collects problems with a consistent row locator."""

    def __init__(self, locate: Callable[[int], str]):
        self.locate = locate
        self.problems: list[Problem] = []
        self.count = 0

    def bad(self, mask: np.ndarray, field: str, message: str, hint: str = "") -> None:
        for i in np.flatnonzero(mask):
            self.count += 1
            if len(self.problems) < MAX_PROBLEMS:
                self.problems.append(Problem(f"{self.locate(int(i))} {field}", message, hint))


def _text(col: pa.ChunkedArray | pa.Array) -> pd.Series:
    s = pc.cast(col, pa.string()).to_pandas().str.strip()
    return s.mask(s == "")


def _timestamps(col: Any, rows: _Rows, field: str) -> pa.Array:
    t = col.type
    if pa.types.is_timestamp(t):
        if t.tz is None:
            rows.problems.append(
                Problem(field, "timestamps have no time zone", "write them as UTC-aware timestamps")
            )
            rows.count += 1
            return pa.nulls(len(col), pa.timestamp("us", tz="UTC"))
        return pc.cast(col, pa.timestamp("us", tz="UTC"))
    text = _text(col)
    parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    rows.bad((text.isna()).to_numpy(), field, "missing timestamp")
    rows.bad(
        (text.notna() & parsed.isna()).to_numpy(),
        field,
        "not an ISO 8601 timestamp",
        "e.g. 2024-03-01T09:30:00Z",
    )
    naive = text.notna() & parsed.notna() & ~text.str.contains(_TZ_SUFFIX, na=False)
    rows.bad(naive.to_numpy(), field, "timestamp has no time zone", "append Z for UTC")
    return pa.array(parsed.astype("datetime64[us, UTC]"), type=pa.timestamp("us", tz="UTC"))


def _money(col: Any, rows: _Rows, field: str, *, required: bool) -> pa.Array:
    text = _text(col)
    ok = text.str.match(_MONEY, na=False)
    if required:
        rows.bad(text.isna().to_numpy(), field, "missing amount")
    rows.bad(
        (text.notna() & ~ok).to_numpy(),
        field,
        "not a money amount",
        "digits with at most 2 decimals, e.g. 1250.00",
    )
    clean = text.where(ok)
    return pc.cast(pa.array(clean, type=pa.string()), pa.decimal128(18, 2))


def _bools(col: Any, rows: _Rows, field: str) -> pa.Array:
    if pa.types.is_boolean(col.type):
        return col
    text = _text(col).str.lower()
    rows.bad((text.notna() & ~text.isin(_TRUE | _FALSE)).to_numpy(), field, "not true/false")
    return pa.array(
        text.map(lambda v: True if v in _TRUE else (False if v in _FALSE else None)),
        type=pa.bool_(),
    )


def _dates(col: Any, rows: _Rows, field: str) -> pa.Array:
    if pa.types.is_date(col.type):
        return pc.cast(col, pa.date32())
    text = _text(col)
    parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    rows.bad(text.isna().to_numpy(), field, "missing date")
    rows.bad((text.notna() & parsed.isna()).to_numpy(), field, "not a date", "use YYYY-MM-DD")
    return pa.array(parsed.dt.date, type=pa.date32())


def validate(name: str, table: pa.Table, locate: Callable[[int], str], source: str) -> pa.Table:
    """Check and convert `table` to SCHEMAS[name]; raise listing every bad row (first 50 shown)."""
    schema = SCHEMAS[name].to_pyarrow()
    rows = _Rows(locate)
    missing = [c for c in REQUIRED[name] if c not in table.column_names]
    unknown = [c for c in table.column_names if c not in schema.names]
    problems = [Problem(source, f"missing column {c!r}", f"add a {c} column") for c in missing]
    problems += [
        Problem(source, f"unknown column {c!r}", f"expected some of {schema.names}")
        for c in unknown
    ]
    if problems:
        raise MarketopsError(f"{source}: wrong columns for {name}", problems)
    n = table.num_rows
    out: dict[str, pa.Array] = {}
    for field in schema:
        col = table.column(field.name) if field.name in table.column_names else pa.nulls(n)
        if pa.types.is_timestamp(field.type):
            out[field.name] = _timestamps(col, rows, field.name)
        elif pa.types.is_decimal(field.type):
            out[field.name] = _money(col, rows, field.name, required=name == "costs")
        elif pa.types.is_boolean(field.type):
            out[field.name] = _bools(col, rows, field.name)
        elif pa.types.is_date(field.type):
            out[field.name] = _dates(col, rows, field.name)
        else:
            text = _text(col)
            if field.name in REQUIRED[name]:
                rows.bad(text.isna().to_numpy(), field.name, "missing value")
            out[field.name] = pa.array(text, type=pa.string())
    if name == "conversions":
        ids = pd.Series(out["conversion_id"].to_pandas())
        rows.bad(
            (ids.notna() & ids.duplicated(keep="first")).to_numpy(),
            "conversion_id",
            "duplicate conversion_id",
            "each conversion needs its own id",
        )
    if rows.problems:
        extra = rows.count - len(rows.problems)
        if extra > 0:
            rows.problems.append(Problem(source, f"... and {extra} more problem(s)"))
        raise MarketopsError(f"{source}: {rows.count} bad value(s) in {name}", rows.problems)
    return pa.table(out, schema=schema)


def load_path(name: str, path: Path) -> pa.Table:
    table = read_file(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        return validate(name, table, lambda i: f"{path} row {i + 1}", str(path))
    return validate(name, table, lambda i: f"{path}:{i + 2}", str(path))


def load_records(name: str, records: Sequence[dict[str, Any]]) -> pa.Table:
    """JSON-ish records (API bodies); values are validated exactly like file cells."""
    cols: dict[str, list[Any]] = {}
    for i, r in enumerate(records):
        for k in r:
            cols.setdefault(k, [None] * i)
        for k, v in cols.items():
            v.append(None if r.get(k) is None else str(r[k]))
    table = pa.table({k: pa.array(v, type=pa.string()) for k, v in cols.items()})
    if not records:
        table = pa.table({c: pa.array([], type=pa.string()) for c in REQUIRED[name]})
    return validate(name, table, lambda i: f"{name}[{i}]", name)


def put_tables(con: Any, tables: dict[str, pa.Table | None]) -> None:
    """Create (or replace) the named tables in an Ibis backend; a missing costs table stays absent."""
    from marketops.analytics.engines import refuse_store_database

    refuse_store_database(con)
    for name, table in tables.items():
        if table is None:
            continue
        if con.name == "pyspark":
            # Ibis 12 converts in-memory decimals through pandas and fails on NULL amounts; Spark
            # takes the Arrow table directly, as a temporary view Ibis then reads like a table.
            con._session.createDataFrame(table).createOrReplaceTempView(name)
        else:
            con.create_table(name, table, schema=SCHEMAS[name], overwrite=True)


def load_files(con: Any, touchpoints: Path, conversions: Path, costs: Path | None = None) -> None:
    """Validate all files first (every problem at once), then load them."""
    problems: list[Problem] = []
    loaded: dict[str, pa.Table | None] = {"costs": None}
    for name, path in (
        ("touchpoints", touchpoints),
        ("conversions", conversions),
        ("costs", costs),
    ):
        if path is None:
            continue
        try:
            loaded[name] = load_path(name, Path(path))
        except MarketopsError as exc:
            problems.extend(exc.problems or [Problem(str(path), str(exc))])
    if problems:
        raise MarketopsError("input files have problems", problems)
    put_tables(con, loaded)
