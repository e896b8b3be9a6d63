"""Use cases: ingest a batch of Segment events, replay dead letters, retry pending links.

One transaction per batch: events, touchpoints, identity links and opportunity changes are written
together, idempotent on messageId (a redelivered event changes nothing). Invalid events are kept in
`event_dead_letters` with every field error, to be fixed and replayed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, insert, select, update

from marketops.events.segment import Event, parse
from marketops.store.schema import leads
from marketops.store.tables_events import (
    event_dead_letters,
    event_identities,
    events,
    opportunities,
    touchpoints,
)

log = logging.getLogger(__name__)


@dataclass
class Rejected:
    index: int
    message_id: str | None
    errors: list[dict[str, str]]
    dead_letter_id: int


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    touchpoints: int = 0
    linked: int = 0  # anonymous/user ids newly linked to a lead
    rejected: list[Rejected] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "touchpoints": self.touchpoints,
            "linked": self.linked,
            "rejected": [r.__dict__ for r in self.rejected],
        }


def insert_ignore(conn: Connection, table: Table, rows: list[dict[str, Any]], keys: list[str]):
    """INSERT … ON CONFLICT DO NOTHING on SQLite and PostgreSQL; returns the statement result."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    stmt = dialect_insert(table).on_conflict_do_nothing(index_elements=keys)
    return conn.execute(stmt, rows)


def ingest(
    ctx: Any, raws: Sequence[Any], *, source: str, now: datetime, ruleset: Any = None
) -> IngestResult:
    """Validate and store a batch; `ctx` is an AppContext (only its engine is used)."""
    parsed: list[Event] = []
    bad: list[tuple[int, Any, list[dict[str, str]]]] = []
    for i, raw in enumerate(raws):
        ev, errors = parse(raw, received=now, ruleset=ruleset)
        if ev is None:
            bad.append((i, raw, [e.as_dict() for e in errors]))
        else:
            parsed.append(ev)
    result = IngestResult()
    with ctx.engine.begin() as conn:
        for i, raw, errors in bad:
            mid = raw.get("messageId") if isinstance(raw, dict) else None
            mid = str(mid)[:200] if mid is not None else None
            dl_id = conn.execute(
                insert(event_dead_letters)
                .values(
                    source=source[:200],
                    message_id=mid,
                    payload=raw if isinstance(raw, dict) else {"value": raw},
                    errors=errors,
                    status="open",
                    created_at=now,
                )
                .returning(event_dead_letters.c.id)
            ).scalar_one()
            result.rejected.append(Rejected(i, mid, errors, dl_id))
        _store(conn, parsed, source, now, result)
    if result.rejected:
        log.warning("events: %d rejected into dead letters (%s)", len(result.rejected), source)
    return result


def _store(
    conn: Connection, parsed: list[Event], source: str, now: datetime, result: IngestResult
) -> None:
    # the first occurrence of a messageId in a batch wins, as it does across batches
    unique: dict[str, Event] = {}
    for ev in parsed:
        unique.setdefault(ev.message_id, ev)
    result.duplicates += len(parsed) - len(unique)
    if not unique:
        return
    existing = set()
    ids = list(unique)
    for start in range(0, len(ids), 500):
        existing |= set(
            conn.execute(
                select(events.c.message_id).where(events.c.message_id.in_(ids[start : start + 500]))
            ).scalars()
        )
    new = [ev for mid, ev in unique.items() if mid not in existing]
    result.duplicates += len(unique) - len(new)
    if not new:
        return
    rows = [
        {
            "message_id": ev.message_id,
            "type": ev.type,
            "event": ev.event[:200] if ev.event else None,
            "anonymous_id": ev.anonymous_id,
            "user_id": ev.user_id,
            "ts": ev.ts,
            "received_at": now,
            "source": source[:200],
            "payload": ev.payload,
        }
        for ev in new
    ]
    # a concurrent writer may have stored some of them meanwhile: those are ignored, not doubled
    insert_ignore(conn, events, rows, ["message_id"])
    tps = [
        {
            "message_id": ev.message_id,
            "anonymous_id": ev.anonymous_id,
            "user_id": ev.user_id,
            "ts": ev.ts,
            "channel": ev.touch.channel,
            "source": ev.touch.source,
            "medium": ev.touch.medium,
            "campaign": ev.touch.campaign,
            "content": ev.touch.content,
            "touch_type": ev.touch.touch_type,
        }
        for ev in new
        if ev.touch is not None
    ]
    if tps:
        insert_ignore(conn, touchpoints, tps, ["message_id"])
    result.accepted += len(new)
    result.touchpoints += len(tps)
    result.linked += link(conn, [ev for ev in new if ev.email], now)
    for ev in sorted((e for e in new if e.opportunity), key=lambda e: e.ts):
        _apply_opportunity(conn, ev, now)


def link(conn: Connection, evs: Iterable[Event], now: datetime) -> int:
    """Link each event's anonymousId/userId to the lead with its email (first link wins)."""
    evs = list(evs)
    emails = sorted({ev.email for ev in evs if ev.email})
    if not emails:
        return 0
    lead_of = {
        e: i
        for e, i in conn.execute(select(leads.c.email, leads.c.id).where(leads.c.email.in_(emails)))
    }
    rows = []
    for ev in evs:
        lead_id = lead_of.get(ev.email or "")
        if lead_id is None:
            continue  # no such lead yet: `relink` retries when the pipeline has created it
        for kind, value in (("anon", ev.anonymous_id), ("user", ev.user_id)):
            if value:
                rows.append(
                    {
                        "kind": kind,
                        "value": value,
                        "lead_id": lead_id,
                        "message_id": ev.message_id,
                        "linked_at": now,
                    }
                )
    if not rows:
        return 0
    keys = {(r["kind"], r["value"]) for r in rows}
    before = _linked(conn, keys)
    insert_ignore(conn, event_identities, rows, ["kind", "value"])
    return len(_linked(conn, keys)) - len(before)


def _linked(conn: Connection, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for kind in ("anon", "user"):
        values = [v for k, v in keys if k == kind]
        if values:
            found |= {
                (kind, v)
                for v in conn.execute(
                    select(event_identities.c.value).where(
                        event_identities.c.kind == kind, event_identities.c.value.in_(values)
                    )
                ).scalars()
            }
    return found


def _apply_opportunity(conn: Connection, ev: Event, now: datetime) -> None:
    """Created sets the creation time (earliest wins); Won/Lost close it. Order-independent."""
    opp = ev.opportunity
    assert opp is not None
    insert_ignore(
        conn,
        opportunities,
        [
            {
                "id": opp.id,
                "anonymous_id": ev.anonymous_id,
                "user_id": ev.user_id,
                "created_at": ev.ts,
                "closed_at": None,
                "status": "open",
                "amount": opp.amount,
                "updated_at": now,
            }
        ],
        ["id"],
    )
    row = conn.execute(select(opportunities).where(opportunities.c.id == opp.id)).one()._mapping
    values: dict[str, Any] = {"updated_at": now}
    if opp.amount is not None:
        values["amount"] = opp.amount
    if ev.ts < row["created_at"]:
        values["created_at"] = ev.ts
    if opp.status in ("won", "lost"):
        values["status"] = opp.status
        values["closed_at"] = ev.ts
    for key in ("anonymous_id", "user_id"):
        if row[key] is None and getattr(ev, key):
            values[key] = getattr(ev, key)
    conn.execute(update(opportunities).where(opportunities.c.id == opp.id).values(**values))


def relink(ctx: Any, now: datetime) -> int:
    """Retry identify events whose email had no lead yet (e.g. the lead was captured later).

    Safe with several workers: a link is an INSERT … ON CONFLICT DO NOTHING.
    """
    with ctx.engine.begin() as conn:
        linked_anon = select(event_identities.c.value).where(event_identities.c.kind == "anon")
        linked_user = select(event_identities.c.value).where(event_identities.c.kind == "user")
        rows = conn.execute(
            select(events.c.payload).where(
                events.c.type == "identify",
                ((events.c.anonymous_id.is_not(None)) & events.c.anonymous_id.not_in(linked_anon))
                | ((events.c.user_id.is_not(None)) & events.c.user_id.not_in(linked_user)),
            )
        ).scalars()
        evs = []
        for payload in rows:
            ev, _ = parse(payload, received=now)
            if ev is not None and ev.email:
                evs.append(ev)
        return link(conn, evs, now) if evs else 0


def replay(
    ctx: Any, now: datetime, *, ids: Sequence[int] | None = None, fixed: dict | None = None
) -> IngestResult:
    """Re-ingest open dead letters (optionally one, with a corrected payload).

    A letter that passes is marked `replayed`; one that still fails stays open with its new errors.
    """
    with ctx.engine.begin() as conn:
        q = select(event_dead_letters).where(event_dead_letters.c.status == "open")
        if ids:
            q = q.where(event_dead_letters.c.id.in_(list(ids)))
        letters = [r._mapping for r in conn.execute(q.order_by(event_dead_letters.c.id))]
    result = IngestResult()
    for letter in letters:
        payload = fixed if fixed is not None else letter["payload"]
        ev, errors = parse(payload, received=now)
        with ctx.engine.begin() as conn:
            if ev is None:
                conn.execute(
                    update(event_dead_letters)
                    .where(event_dead_letters.c.id == letter["id"])
                    .values(errors=[e.as_dict() for e in errors], payload=payload)
                )
                result.rejected.append(
                    Rejected(
                        letter["id"],
                        letter["message_id"],
                        [e.as_dict() for e in errors],
                        letter["id"],
                    )
                )
                continue
            _store(conn, [ev], letter["source"], now, result)
            conn.execute(
                update(event_dead_letters)
                .where(event_dead_letters.c.id == letter["id"])
                .values(status="replayed", resolved_at=now, payload=payload)
            )
    return result


def dead_letters(ctx: Any, *, status: str = "open", limit: int = 100) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(event_dead_letters)
            .where(event_dead_letters.c.status == status)
            .order_by(event_dead_letters.c.id)
            .limit(limit)
        )
        return [dict(r._mapping) for r in rows]


def load_costs(ctx: Any, path: Any) -> int:
    """Load a costs CSV/Parquet (attribution's format and checks). Rows of the file with the same
    (day, campaign, channel) add up; a key already stored gets the file's spend, so re-loading a
    corrected file is safe."""
    from pathlib import Path

    from marketops.analytics.attribution.load import load_path
    from marketops.store.tables_events import marketing_costs

    table = load_path("costs", Path(path))
    rows: dict[tuple[Any, str, str], Any] = {}
    for r in table.to_pylist():
        key = (r["day"], r["campaign"] or "", r["channel"] or "")
        rows[key] = rows.get(key, 0) + r["spend"]  # several rows for one key add up
    with ctx.engine.begin() as conn:
        for (day, campaign, channel), spend in rows.items():
            key = (
                (marketing_costs.c.day == day)
                & (marketing_costs.c.campaign == campaign)
                & (marketing_costs.c.channel == channel)
            )
            if conn.execute(update(marketing_costs).where(key).values(spend=spend)).rowcount == 0:
                conn.execute(
                    insert(marketing_costs).values(
                        day=day, campaign=campaign, channel=channel, spend=spend
                    )
                )
    return len(rows)
