"""Loading the history a back-test replays: stored leads and their activities, streamed in id order.

Reads go through the driver's cursor (not SQLAlchemy row processing, which costs more than the
replay itself at a million leads); JSON and times are decoded here exactly as the store wrote them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection

from marketops.governance.backtest import HistoryLead
from marketops.pipeline.records import Lead
from marketops.store.bulk import bind_time, param_marker
from marketops.store.leads_repo import LEAD_COLUMNS

STORED_COLUMNS = LEAD_COLUMNS


def _read_time(v: Any) -> datetime:
    if isinstance(v, str):
        return datetime.fromisoformat(v).replace(tzinfo=UTC)
    return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)


def _read_json(v: Any) -> Any:
    return orjson.loads(v) if isinstance(v, str | bytes) else v


def _collate(dialect: str) -> str:
    """Byte order on both stores, so partitions agree with Python's string order."""
    return "" if dialect == "sqlite" else ' COLLATE "C"'


_HEX = "0123456789abcdef"


def _partition(column: str, part: tuple[int, int], dialect: str, mark: str) -> tuple[str, list]:
    """Rows of partition k of n: ids split by their first character (ids are random hex)."""
    k, n = part
    if n <= 1:
        return "", []
    lo = _HEX[16 * k // n] if k > 0 else None
    hi = _HEX[16 * (k + 1) // n] if k < n - 1 else None
    expr = f"substr({column}, 1, 1){_collate(dialect)}"
    sql, args = [], []
    if lo is not None:
        sql.append(f"{expr} >= {mark}")
        args.append(lo)
    if hi is not None:
        sql.append(f"{expr} < {mark}")
        args.append(hi)
    return " AND ".join(sql), args


_VIEW_ONLY = {"activity", "occurred_at", "message"}  # taken from the last activity


def load_history(
    conn: Connection,
    *,
    since: datetime | None,
    until: datetime,
    fields: set[str] | None = None,
    part: tuple[int, int] = (0, 1),
) -> Iterator[HistoryLead]:
    """Leads with at least one activity in [since, until], each with its activities up to `until`.

    `fields` (None: all) are the fields the rules read; only those columns are fetched — a rule
    never sees the others, and skipping them halves the load. The view is built like
    `Lead.view()`: columns, then attributes, then flags, plus the last activity's type, time and
    message (what the pipeline saw when it last scored and routed the lead).
    """
    dialect = conn.dialect.name
    mark = param_marker(dialect)
    every = [f.name for f in dataclass_fields(Lead) if f.name not in ("flags", "attributes")]
    wanted = [c for c in every if fields is None or c in fields]
    columns = [c for c in wanted if c in STORED_COLUMNS]
    need_message = "message" in wanted
    msg = (
        ("json_extract(details, '$.message')" if dialect == "sqlite" else "(details->>'message')")
        if need_message
        else "NULL"
    )
    where_a, args_a = [f"occurred_at <= {mark}"], [bind_time(until, dialect)]
    p_sql, p_args = _partition("lead_id", part, dialect, mark)
    if p_sql:
        where_a.append(p_sql)
        args_a += p_args
    by_lead: dict[str, list[tuple[str, datetime]]] = {}
    raw = conn.connection.driver_connection
    # PostgreSQL: a server-side cursor streams rows instead of holding the result in memory
    cur = raw.cursor() if dialect == "sqlite" else raw.cursor(name="marketops_backtest")
    try:
        cur.execute(
            f"SELECT lead_id, type, occurred_at, {msg} FROM activities"
            f" WHERE {' AND '.join(where_a)}",
            tuple(args_a),
        )
        parse = datetime.fromisoformat
        sqlite = dialect == "sqlite"  # SQLite: text as SQLAlchemy wrote it, UTC implied
        last_message: dict[str, tuple[datetime, Any]] = {}
        for lead_id, kind, at, message in cur:
            t = parse(at).replace(tzinfo=UTC) if sqlite else _read_time(at)
            got = by_lead.get(lead_id)
            if got is None:
                by_lead[lead_id] = [(kind, t)]
            else:
                got.append((kind, t))
            if need_message:
                seen = last_message.get(lead_id)
                if seen is None or t >= seen[0]:  # the latest touch (ties: the later row)
                    last_message[lead_id] = (t, message)
        p_sql, p_args = _partition("id", part, dialect, mark)
        if dialect != "sqlite":
            cur.close()
            cur = raw.cursor(name="marketops_backtest_leads")
        cur.execute(
            f"SELECT id, suppressed, flags, attributes, created_at"
            f"{''.join(', ' + c for c in columns)} FROM leads"
            f"{' WHERE ' + p_sql if p_sql else ''}",
            tuple(p_args),
        )
        for row in cur:
            acts = by_lead.pop(row[0], None)
            if not acts:
                continue  # no activity up to `until`: the lead did not exist yet
            if len(acts) > 1:
                acts.sort(key=_by_time)
                if since is not None and acts[-1][1] < since:
                    continue
            elif since is not None and acts[0][1] < since:
                continue
            view = dict(zip(columns, row[5:], strict=True))
            if "activity" in wanted:
                view["activity"] = acts[-1][0]
            if "occurred_at" in wanted:
                view["occurred_at"] = acts[-1][1]
            if need_message:
                view["message"] = last_message[row[0]][1]
            for extra in ("consent", "warnings"):
                if extra in wanted:
                    view[extra] = _extra(conn, row[0], extra)
            view.update(_read_json(row[3]) or {})
            view.update(_read_json(row[2]) or {})
            created = parse(row[4]).replace(tzinfo=UTC) if sqlite else _read_time(row[4])
            yield HistoryLead(row[0], view, bool(row[1]), acts, created)
    finally:
        cur.close()


def _by_time(a: tuple[str, datetime]) -> datetime:
    return a[1]


def _extra(conn: Connection, lead_id: str, column: str) -> Any:
    """consent / warnings: rarely read by rules, so fetched per lead only when one does."""
    value = conn.exec_driver_sql(
        f"SELECT {column} FROM leads WHERE id = {'?' if conn.dialect.name == 'sqlite' else '%s'}",
        (lead_id,),
    ).scalar()
    return _read_json(value) or ({} if column == "consent" else [])
