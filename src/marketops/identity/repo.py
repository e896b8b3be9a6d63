"""SQL for identity resolution (SQLAlchemy Core; the same statements on SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, insert, select

from marketops.identity.config import Survivorship
from marketops.identity.realtime import Candidate
from marketops.identity.survivorship import GOLDEN_FIELDS, Member, golden
from marketops.store.schema import leads
from marketops.store.tables_identity import (
    identities,
    identity_keys,
    identity_links,
    identity_merges,
    identity_models,
)


def new_id() -> str:
    return uuid.uuid4().hex


def latest_model(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(
        select(identity_models.c.params).order_by(identity_models.c.id.desc()).limit(1)
    ).first()
    return None if row is None else row[0]


def save_model(
    conn: Connection, params: dict[str, Any], stats: dict[str, Any], now: datetime
) -> None:
    conn.execute(
        insert(identity_models).values(
            created_at=now, source=params.get("source", "default"), params=params, stats=stats
        )
    )


def link_of(conn: Connection, lead_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(identity_links).where(identity_links.c.lead_id == lead_id)).first()
    return None if row is None else dict(row._mapping)


def candidates(conn: Connection, keys: Sequence[str], limit: int) -> list[Candidate]:
    if not keys:
        return []
    ids = [
        r[0]
        for r in conn.execute(
            select(identity_keys.c.lead_id)
            .where(identity_keys.c.key.in_(list(keys)))
            .distinct()
            .limit(limit)
        )
    ]
    if not ids:
        return []
    rows = conn.execute(
        select(
            identity_links.c.lead_id, identity_links.c.identity_id, identity_links.c.features
        ).where(identity_links.c.lead_id.in_(ids))
    )
    return [Candidate(r[0], r[1], r[2] or {}) for r in rows]


def replace_keys(conn: Connection, lead_id: str, keys: Sequence[str]) -> None:
    conn.execute(delete(identity_keys).where(identity_keys.c.lead_id == lead_id))
    if keys:
        conn.execute(insert(identity_keys), [{"key": k, "lead_id": lead_id} for k in keys])


def create_identity(conn: Connection, identity_id: str, now: datetime) -> None:
    conn.execute(
        insert(identities).values(
            id=identity_id, size=1, golden={}, min_probability=None, created_at=now, updated_at=now
        )
    )


def identity_exists(conn: Connection, identity_id: str) -> bool:
    return (
        conn.execute(select(identities.c.id).where(identities.c.id == identity_id)).first()
        is not None
    )


def members(conn: Connection, identity_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(identity_links)
        .where(identity_links.c.identity_id == identity_id)
        .order_by(identity_links.c.linked_at, identity_links.c.lead_id)
    )
    return [dict(r._mapping) for r in rows]


def _as_time(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def member_records(conn: Connection, lead_ids: Iterable[str]) -> list[Member]:
    """Members for survivorship, from the leads table (records not stored as leads are skipped)."""
    fields = [f for f in GOLDEN_FIELDS if f in leads.c]
    out = []
    ids = list(lead_ids)
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        sql = (
            f"SELECT id, created_at, updated_at, {', '.join(fields)} FROM leads "
            f"WHERE id IN ({', '.join('?' for _ in part)})"
        )
        for r in conn.exec_driver_sql(_sql(conn, sql), tuple(part)):
            values = dict(zip(fields, r[3:], strict=True))
            out.append(Member(r[0], values, _as_time(r[1]), _as_time(r[2]), values.get("source")))
    return out


def refresh_identity(
    conn: Connection, identity_id: str, survivorship: Survivorship, now: datetime
) -> int:
    """Recompute size, weakest link and golden record; delete the identity if it has no members."""
    links = conn.exec_driver_sql(
        _sql(conn, "SELECT lead_id, match_probability FROM identity_links WHERE identity_id = ?"),
        (identity_id,),
    ).all()
    if not links:
        conn.exec_driver_sql(_sql(conn, "DELETE FROM identities WHERE id = ?"), (identity_id,))
        return 0
    probs = [p for _, p in links if p is not None]
    gold = golden(member_records(conn, [lead for lead, _ in links]), survivorship)
    conn.exec_driver_sql(
        _sql(
            conn,
            "UPDATE identities SET size = ?, min_probability = ?, golden = ?, updated_at = ? "
            "WHERE id = ?",
        ),
        (
            len(links),
            min(probs) if probs and len(links) > 1 else None,
            orjson.dumps(gold, default=str).decode(),
            _time(conn, now),
            identity_id,
        ),
    )
    return len(links)


def record_merge(
    conn: Connection,
    *,
    kind: str,
    actor: str,
    into: str | None,
    data: dict[str, Any],
    now: datetime,
) -> int:
    row = conn.exec_driver_sql(
        _sql(
            conn,
            "INSERT INTO identity_merges (kind, at, actor, into_identity, data) "
            "VALUES (?, ?, ?, ?, ?) RETURNING id",
        ),
        (kind, _time(conn, now), actor, into, orjson.dumps(data, default=str).decode()),
    ).first()
    assert row is not None
    return int(row[0])


def get_merge(conn: Connection, merge_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(identity_merges).where(identity_merges.c.id == merge_id)).first()
    return None if row is None else dict(row._mapping)


def merges_of(conn: Connection, identity_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(identity_merges)
        .where(identity_merges.c.into_identity == identity_id)
        .order_by(identity_merges.c.id)
    )
    return [dict(r._mapping) for r in rows]


def counts(conn: Connection, threshold: float) -> dict[str, Any]:
    records = conn.execute(select(func.count()).select_from(identity_links)).scalar_one()
    total = conn.execute(select(func.count()).select_from(identities)).scalar_one()
    multi = conn.execute(
        select(func.count()).select_from(identities).where(identities.c.size > 1)
    ).scalar_one()
    confident = conn.execute(
        select(func.count())
        .select_from(identities)
        .where(identities.c.size > 1, identities.c.min_probability >= threshold)
    ).scalar_one()
    by_method = dict(
        conn.execute(
            select(identity_links.c.method, func.count()).group_by(identity_links.c.method)
        ).all()
    )
    return {
        "records": records,
        "identities": total,
        "multi": multi,
        "confident": confident,
        "by_method": {("anchor" if k is None else str(k)): v for k, v in by_method.items()},
    }


# --- the real-time hot path: driver-level SQL ---------------------------------------------------
# SQLAlchemy Core spent ~1 ms a statement compiling and caching here (profiled); these few
# statements run on every captured lead, so they go to the driver directly, converting JSON and
# times the way SQLAlchemy would store them (see store/bulk.py for the same trade).


def _sql(conn: Connection, sql: str) -> str:
    return sql if conn.dialect.name == "sqlite" else sql.replace("?", "%s")


def _time(conn: Connection, value: datetime) -> Any:
    if conn.dialect.name != "sqlite":
        return value
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _loads(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, (str, bytes)) else value


def fast_identity_of(conn: Connection, lead_id: str) -> str | None:
    row = conn.exec_driver_sql(
        _sql(conn, "SELECT identity_id FROM identity_links WHERE lead_id = ?"), (lead_id,)
    ).first()
    return None if row is None else row[0]


def fast_candidates(conn: Connection, keys: Sequence[str], limit: int) -> list[Candidate]:
    """Records sharing any blocking key, with their identity and features: one indexed query."""
    if not keys:
        return []
    marks = ", ".join("?" for _ in keys)
    sql = (
        "SELECT l.lead_id, l.identity_id, l.features FROM identity_links l WHERE l.lead_id IN "
        f"(SELECT DISTINCT k.lead_id FROM identity_keys k WHERE k.key IN ({marks}) LIMIT ?)"
    )
    rows = conn.exec_driver_sql(_sql(conn, sql), (*keys, limit)).all()
    return [Candidate(r[0], r[1], _loads(r[2]) or {}) for r in rows]


def fast_insert_link(conn: Connection, row: dict[str, Any]) -> None:
    conn.exec_driver_sql(
        _sql(
            conn,
            "INSERT INTO identity_links (lead_id, identity_id, method, match_probability, "
            "match_weight, matched_to, features, linked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        ),
        (
            row["lead_id"],
            row["identity_id"],
            row["method"],
            row["match_probability"],
            row["match_weight"],
            row["matched_to"],
            orjson.dumps(row["features"]).decode(),
            _time(conn, row["linked_at"]),
        ),
    )


def fast_insert_keys(conn: Connection, lead_id: str, keys: Sequence[str]) -> None:
    if keys:
        conn.exec_driver_sql(
            _sql(conn, "INSERT INTO identity_keys (key, lead_id) VALUES (?, ?)"),
            [(k, lead_id) for k in keys],
        )


def fast_create_identity(conn: Connection, identity_id: str, now: datetime) -> None:
    """A new single-record identity; its golden record is that record (filled on read)."""
    t = _time(conn, now)
    conn.exec_driver_sql(
        _sql(
            conn,
            "INSERT INTO identities (id, size, golden, min_probability, created_at, updated_at) "
            "VALUES (?, 1, ?, NULL, ?, ?)",
        ),
        (identity_id, "{}", t, t),
    )
