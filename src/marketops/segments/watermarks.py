"""The refresh state: high-water marks of what has been evaluated, and the lock writers take.

Marks: leads.updated_at, activities.id, segment_changes.id (list edits), identities.updated_at,
opportunities.updated_at, event_identities.linked_at, the `now` of the last evaluation, and a hash
of each segment's definition (a changed or new segment is recomputed in batch).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from marketops.segments.config import SegmentDef
from marketops.store.schema import activities, leads
from marketops.store.tables_events import event_identities, opportunities
from marketops.store.tables_identity import identities
from marketops.store.tables_segments import segment_changes, segment_state

STATE = "refresh"
TIME_MARKS = ("lead_ts", "identity_ts", "opportunity_ts", "link_ts")
ID_MARKS = ("activity_id", "change_id")


def definition_hash(d: SegmentDef) -> str:
    body = json.dumps(d.rule.model_dump(mode="json", by_alias=True), sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def lock(conn: Connection) -> dict[str, Any] | None:
    """Take the refresh lock (a row lock on PostgreSQL; SQLite writers already hold the database
    lock) and return the stored state, or None before the first evaluation."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        conn.execute(pg_insert(segment_state).values(name=STATE, data={}).on_conflict_do_nothing())
        data = conn.execute(
            select(segment_state.c.data).where(segment_state.c.name == STATE).with_for_update()
        ).scalar_one()
    else:
        data = conn.execute(
            select(segment_state.c.data).where(segment_state.c.name == STATE)
        ).scalar()
        if data is None:
            conn.execute(insert(segment_state).values(name=STATE, data={}))
            data = {}
    return data or None


def save(conn: Connection, state: dict[str, Any]) -> None:
    conn.execute(update(segment_state).where(segment_state.c.name == STATE).values(data=state))


def high_marks(conn: Connection) -> dict[str, Any]:
    def iso(v: datetime | None) -> str | None:
        return None if v is None else v.isoformat()

    return {
        "lead_ts": iso(conn.execute(select(func.max(leads.c.updated_at))).scalar()),
        "activity_id": conn.execute(select(func.max(activities.c.id))).scalar() or 0,
        "change_id": conn.execute(select(func.max(segment_changes.c.id))).scalar() or 0,
        "identity_ts": iso(conn.execute(select(func.max(identities.c.updated_at))).scalar()),
        "opportunity_ts": iso(conn.execute(select(func.max(opportunities.c.updated_at))).scalar()),
        "link_ts": iso(conn.execute(select(func.max(event_identities.c.linked_at))).scalar()),
    }


def lowest(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Mark by mark, the earlier of two states (None = from the beginning)."""
    out = {}
    for k in (*TIME_MARKS, *ID_MARKS):
        x, y = a.get(k), b.get(k)
        if k in ID_MARKS:
            out[k] = min(x or 0, y or 0)
        else:
            out[k] = None if x is None or y is None else min(x, y, key=datetime.fromisoformat)
    return out
