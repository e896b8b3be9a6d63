"""Incremental membership: re-evaluate only the leads that may have changed, with the Python
evaluator, and write the differences.

Who may have changed since the last refresh: leads updated (leads.updated_at), leads with new
activities of a type a rule names, list edits, identity and opportunity changes, and — because
time passes — leads whose activities left a behaviour window (or entered it, if dated ahead).
Marks are re-read with a small overlap (OVERLAP, ID_OVERLAP): rows committed late (concurrent
writers) are not missed, and evaluating a lead twice changes nothing.

Each chunk is evaluated and written in one transaction under the refresh lock, comparing with
stored membership: a crash loses at most the chunk in flight, and a re-run logs nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from marketops.segments import membership, watermarks
from marketops.segments.config import ActivityRule, SegmentDef, walk
from marketops.segments.load import lead_views
from marketops.segments.rules import compile_rule
from marketops.segments.sql import activity_types
from marketops.store.schema import activities, leads
from marketops.store.tables_events import event_identities, opportunities
from marketops.store.tables_identity import identities, identity_links
from marketops.store.tables_segments import segment_changes

OVERLAP = timedelta(seconds=60)
ID_OVERLAP = 1000
CHUNK = 500


def _ts(v: str | None) -> datetime | None:
    return None if v is None else datetime.fromisoformat(v)


def candidates(
    conn: Connection,
    state: dict[str, Any],
    definitions: Sequence[SegmentDef],
    list_names: Sequence[str],
    now: datetime,
) -> set[str]:
    """Leads whose membership may differ from what was stored at the last refresh."""
    out: set[str] = set()

    def since(mark: str) -> datetime | None:
        t = _ts(state.get(mark))
        return None if t is None else t - OVERLAP

    def add(q: Any) -> None:
        out.update(conn.execute(q).scalars())

    t = since("lead_ts")
    add(select(leads.c.id).where(leads.c.updated_at >= t) if t else select(leads.c.id))
    types = sorted(activity_types(list(definitions)))
    if types:
        first = max(0, (state.get("activity_id") or 0) - ID_OVERLAP)
        add(
            select(activities.c.lead_id)
            .where(activities.c.id > first, activities.c.type.in_(types))
            .distinct()
        )
    if list_names:
        add(
            select(segment_changes.c.lead_id)
            .where(
                segment_changes.c.id > max(0, (state.get("change_id") or 0) - ID_OVERLAP),
                segment_changes.c.segment.in_(list(list_names)),
            )
            .distinct()
        )
    t = since("identity_ts")
    changed = select(identities.c.id)
    if t:
        changed = changed.where(identities.c.updated_at >= t)
    add(select(identity_links.c.lead_id).where(identity_links.c.identity_id.in_(changed)))
    t = since("link_ts")
    q = select(event_identities.c.lead_id)
    add(q.where(event_identities.c.linked_at >= t) if t else q)
    t = since("opportunity_ts")
    o = select(opportunities.c.user_id, opportunities.c.anonymous_id)
    rows = conn.execute(o.where(opportunities.c.updated_at >= t) if t else o).all()
    keys = {("user", u) for u, _ in rows if u} | {("anon", a) for _, a in rows if a}
    if keys:
        for kind in ("user", "anon"):
            values = [v for k, v in keys if k == kind]
            for i in range(0, len(values), CHUNK):
                add(
                    select(event_identities.c.lead_id).where(
                        event_identities.c.kind == kind,
                        event_identities.c.value.in_(values[i : i + CHUNK]),
                    )
                )
    out |= expiring(conn, definitions, _ts(state.get("now")), now)
    return out


def expiring(
    conn: Connection, definitions: Sequence[SegmentDef], prev: datetime | None, now: datetime
) -> set[str]:
    """Leads with an activity that left a behaviour window between `prev` and `now`, or whose
    future-dated activity became current."""
    if prev is None or now <= prev:
        return set()
    out: set[str] = set()
    specs = {
        (n.activity.type, n.activity.within_days)
        for d in definitions
        for n in walk(d.rule)
        if isinstance(n, ActivityRule)
    }
    for typ, days in specs:
        if days is not None:
            w = timedelta(days=days)
            out.update(
                conn.execute(
                    select(activities.c.lead_id).where(
                        activities.c.type == typ,
                        activities.c.occurred_at > prev - w,
                        activities.c.occurred_at <= now - w,
                    )
                ).scalars()
            )
    types = sorted(activity_types(list(definitions)))
    if types:
        out.update(
            conn.execute(
                select(activities.c.lead_id).where(
                    activities.c.type.in_(types),
                    activities.c.occurred_at > prev,
                    activities.c.occurred_at <= now,
                )
            ).scalars()
        )
    return out


def evaluate_chunk(
    conn: Connection, definitions: Sequence[SegmentDef], lead_ids: list[str], now: datetime
) -> int:
    """Re-evaluate `lead_ids` for every segment and write the differences; returns how many."""
    views = lead_views(conn, lead_ids, activity_types(list(definitions)))
    changes = 0
    for d in definitions:
        pred = compile_rule(d.rule)
        now_in = {lid for lid, (lead, acts) in views.items() if pred(lead, acts, now)}
        stored = membership.members_of(conn, d.name, lead_ids)
        changes += membership.enter(
            conn, d.name, "segment", sorted(now_in - stored), now, "refresh"
        )
        changes += membership.leave(conn, d.name, sorted(stored - now_in), now)
    return changes


def refresh_leads(
    engine: Any,
    definitions: Sequence[SegmentDef],
    lead_ids: Iterable[str],
    now: datetime,
    *,
    chunk: int = CHUNK,
) -> int:
    ids = sorted(set(lead_ids))
    changes = 0
    for i in range(0, len(ids), chunk):
        with engine.begin() as conn:
            watermarks.lock(conn)
            changes += evaluate_chunk(conn, definitions, ids[i : i + chunk], now)
    return changes
