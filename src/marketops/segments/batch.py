"""Batch evaluation on the analytic engine: read the store into DuckDB, run each segment's SQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from marketops.segments.config import SegmentDef
from marketops.segments.load import put, read_store
from marketops.segments.sql import activity_types, attributes_used, members


@contextmanager
def engine_with_store(engine: Engine, definitions: Sequence[SegmentDef]) -> Iterator[Any]:
    """An in-memory DuckDB (Ibis) holding what `definitions` need from the store."""
    from marketops.analytics.engines import connect

    defs = list(definitions)
    with engine.connect() as conn:
        data = read_store(conn, attributes_used(defs), activity_types(defs))
    con = connect("duckdb://")
    try:
        put(con, data)
        yield con
    finally:
        con.disconnect()


def member_ids(con: Any, definition: SegmentDef, now: datetime) -> set[str]:
    return set(con.to_pyarrow(members(con, definition, now)).column("id").to_pylist())


def evaluate_all(
    engine: Engine, definitions: Sequence[SegmentDef], now: datetime
) -> dict[str, set[str]]:
    """Every segment's members at `now`, computed on DuckDB from one read of the store."""
    with engine_with_store(engine, definitions) as con:
        return {d.name: member_ids(con, d, now) for d in definitions}
