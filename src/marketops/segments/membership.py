"""Stored membership: read it, and change it with every change logged in `segment_changes`.

Every function runs in the caller's transaction, so the membership row and its log entry commit
together. Writers use INSERT … ON CONFLICT DO NOTHING / DELETE … RETURNING and log only the rows
they actually changed: a repeated call (a retry, a re-run after a crash) logs nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from marketops.store.tables_segments import segment_changes, segment_members

CHUNK = 500


def _insert(conn: Connection):  # -> dialect insert with on_conflict_do_nothing
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(segment_members)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(segment_members)


def is_member(conn: Connection, segment: str, lead_id: str) -> bool:
    return (
        conn.execute(
            select(segment_members.c.lead_id).where(
                segment_members.c.segment == segment, segment_members.c.lead_id == lead_id
            )
        ).first()
        is not None
    )


def memberships(conn: Connection, lead_id: str) -> set[str]:
    return set(
        conn.execute(
            select(segment_members.c.segment).where(segment_members.c.lead_id == lead_id)
        ).scalars()
    )


def members_of(conn: Connection, segment: str, lead_ids: Iterable[str] | None = None) -> set[str]:
    q = select(segment_members.c.lead_id).where(segment_members.c.segment == segment)
    if lead_ids is None:
        return set(conn.execute(q).scalars())
    out: set[str] = set()
    ids = list(lead_ids)
    for i in range(0, len(ids), CHUNK):
        out.update(
            conn.execute(q.where(segment_members.c.lead_id.in_(ids[i : i + CHUNK]))).scalars()
        )
    return out


def enter(
    conn: Connection, segment: str, kind: str, lead_ids: Sequence[str], now: datetime, source: str
) -> int:
    """Add members; log `entered` for those that were not members yet. Returns how many."""
    added: list[str] = []
    ids = list(dict.fromkeys(lead_ids))
    for i in range(0, len(ids), CHUNK):
        rows = [
            {"segment": segment, "lead_id": lid, "kind": kind, "source": source, "since": now}
            for lid in ids[i : i + CHUNK]
        ]
        stmt = _insert(conn).on_conflict_do_nothing().returning(segment_members.c.lead_id)
        added += conn.execute(stmt, rows).scalars().all()
    _log(conn, segment, added, "entered", now)
    return len(added)


def leave(conn: Connection, segment: str, lead_ids: Sequence[str], now: datetime) -> int:
    """Remove members; log `exited` for those that were members. Returns how many."""
    removed: list[str] = []
    ids = list(dict.fromkeys(lead_ids))
    for i in range(0, len(ids), CHUNK):
        removed += (
            conn.execute(
                delete(segment_members)
                .where(
                    segment_members.c.segment == segment,
                    segment_members.c.lead_id.in_(ids[i : i + CHUNK]),
                )
                .returning(segment_members.c.lead_id)
            )
            .scalars()
            .all()
        )
    _log(conn, segment, removed, "exited", now)
    return len(removed)


def _log(conn: Connection, segment: str, lead_ids: list[str], change: str, now: datetime) -> None:
    if lead_ids:
        conn.execute(
            insert(segment_changes),
            [
                {"segment": segment, "lead_id": lid, "change": change, "at": now}
                for lid in sorted(lead_ids)
            ],
        )


def add_to_list(
    conn: Connection, list_name: str, lead_ids: Sequence[str], now: datetime, *, source: str
) -> int:
    """Put leads on a static list (in the caller's transaction); returns how many were new."""
    return enter(conn, list_name, "list", lead_ids, now, source)


def remove_from_list(
    conn: Connection, list_name: str, lead_ids: Sequence[str], now: datetime, *, source: str
) -> int:
    """Take leads off a static list; returns how many were on it. `source` names who asked (it
    is kept on additions; removals are logged in segment_changes)."""
    del source
    return leave(conn, list_name, lead_ids, now)
