"""Entries and wake-ups: read what happened since a watermark and act on it.

Each published journey keeps a cursor (last id consumed) on the one table its trigger reads:
`segment_changes` (segment entry), `activities` (form fill, any activity), `lead_events`
(stage move, score crossing), `journey_events` (API events), `events` (pipeline track events).
The enrolments and the cursor move commit together, and the entry key names the trigger row,
so a crash re-reads the same rows and enrols nobody twice. A journey that is paused or stopped
is not scanned: entries wait (paused) or are never made (stopped).

The wake-up scan reads the same tables once for everybody and makes the enrolments of every
lead that something happened to due now, so event waits and exit goals react at once instead of
at the wait's end.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, func, insert, select, update

from marketops.errors import MarketopsError, NotFound, Problem
from marketops.journeys.models import Journey
from marketops.store.schema import activities, lead_events, leads
from marketops.store.tables_events import event_identities, events
from marketops.store.tables_journeys import (
    journey_cursors,
    journey_enrolments,
    journey_events,
    journey_states,
)

BATCH = 5000
LATE_LINK = timedelta(hours=1)  # an anonymous track event still enters if identified this soon
WAKE = "*wake"


def _segment_changes() -> Table:
    try:
        from marketops.store.tables_segments import segment_changes
    except ImportError as exc:  # segments not installed in this build
        raise MarketopsError(
            "segment triggers need the segments capability",
            [Problem("entry.segment", "table segment_changes is missing")],
        ) from exc
    return segment_changes


def source_of(journey: Journey) -> str:
    kind = journey.entry.kind
    return {
        "segment": "segment_changes",
        "form_fill": "activities",
        "activity": "activities",
        "stage": "lead_events",
        "score": "lead_events",
        "event": "journey_events",
        "track": "events",
    }[kind]


def _table(source: str) -> Table:
    if source == "segment_changes":
        return _segment_changes()
    return {
        "activities": activities,
        "lead_events": lead_events,
        "journey_events": journey_events,
        "events": events,
    }[source]


def _max_id(conn: Connection, source: str) -> int:
    t = _table(source)
    return int(conn.execute(select(func.coalesce(func.max(t.c.id), 0))).scalar_one())


def init_cursor(conn: Connection, name: str, journey: Journey) -> None:
    """On publish: start reading the trigger's table from now on (no back-fill of history)."""
    source = source_of(journey)
    have = conn.execute(
        select(journey_cursors.c.position).where(
            journey_cursors.c.journey == name, journey_cursors.c.source == source
        )
    ).scalar()
    if have is None:
        conn.execute(
            insert(journey_cursors).values(
                journey=name, source=source, position=_max_id(conn, source)
            )
        )


def restart_cursor(conn: Connection, name: str, journey: Journey) -> None:
    """Skip what the trigger's table holds now (a stopped journey restarting)."""
    init_cursor(conn, name, journey)
    _advance(conn, name, source_of(journey), _max_id(conn, source_of(journey)))


def _cursor(conn: Connection, journey: str, source: str, lock: bool = True) -> int | None:
    stmt = select(journey_cursors.c.position).where(
        journey_cursors.c.journey == journey, journey_cursors.c.source == source
    )
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    pos = conn.execute(stmt).scalar()
    return None if pos is None else int(pos)


def _advance(conn: Connection, journey: str, source: str, position: int) -> None:
    conn.execute(
        update(journey_cursors)
        .where(journey_cursors.c.journey == journey, journey_cursors.c.source == source)
        .values(position=position)
    )


@dataclass(frozen=True)
class Candidate:
    lead_id: str
    key: str  # names the trigger row: the entry is made once


def _lead_of_events(conn: Connection, rows: list[Any]) -> dict[int, str]:
    """Track events to leads through the identity links (userId first, then anonymousId); a
    link made more than `LATE_LINK` after the event arrived does not count for it."""
    keys = {("user", r.user_id) for r in rows if r.user_id} | {
        ("anon", r.anonymous_id) for r in rows if r.anonymous_id
    }
    linked: dict[tuple[str, str], tuple[str, datetime]] = {}
    for kind in ("user", "anon"):
        values = [v for k, v in keys if k == kind]
        if values:
            linked.update(
                ((kind, v), (lid, at))
                for v, lid, at in conn.execute(
                    select(
                        event_identities.c.value,
                        event_identities.c.lead_id,
                        event_identities.c.linked_at,
                    ).where(event_identities.c.kind == kind, event_identities.c.value.in_(values))
                )
            )
    out = {}
    for r in rows:
        for key in (("user", r.user_id), ("anon", r.anonymous_id)):
            hit = linked.get(key)
            if hit is not None and hit[1] <= r.received_at + LATE_LINK:
                out[r.id] = hit[0]
                break
    return out


def candidates(
    conn: Connection, name: str, journey: Journey, after: int, now: datetime | None = None
) -> tuple[list[Candidate], int]:
    """Trigger rows after `after` that enter this journey, and the new watermark.

    A track event whose visitor is not yet identified holds the watermark for `LATE_LINK` after
    it was received (when the batch is not full), so an identify within that time enters the
    person; re-reading entered rows is harmless (the entry key names the row)."""
    trig = journey.entry
    source = source_of(journey)
    t = _table(source)
    # the top first: a row committed between the two reads is left for the next tick
    top = int(conn.execute(select(func.coalesce(func.max(t.c.id), after))).scalar_one())
    stmt = select(t).where(t.c.id > after, t.c.id <= top).order_by(t.c.id).limit(BATCH)
    if source == "segment_changes":
        stmt = stmt.where(t.c.segment == trig.segment, t.c.change == "entered")
    elif source == "activities":
        stmt = stmt.where(t.c.type == ("form_fill" if trig.form_fill else trig.activity))
    elif source == "lead_events":
        stmt = stmt.where(t.c.kind == ("stage" if trig.stage else "score"))
    elif source == "journey_events":
        stmt = stmt.where(t.c.journey == name, t.c.name == trig.event)
    else:
        stmt = stmt.where(t.c.type == "track", t.c.event == trig.track)
    rows = conn.execute(stmt).all()
    # the watermark passes the rows the filter skipped too, unless the batch was full
    last = rows[-1].id if len(rows) == BATCH else top
    out: list[Candidate] = []
    if source == "events":
        lead_of = _lead_of_events(conn, rows)
        out = [Candidate(lead_of[r.id], f"{name}:track:{r.id}") for r in rows if r.id in lead_of]
        waiting = [
            r.id
            for r in rows
            if r.id not in lead_of and now is not None and r.received_at > now - LATE_LINK
        ]
        if waiting and len(rows) < BATCH:
            last = min(last, waiting[0] - 1)
    elif source == "lead_events" and trig.stage is not None:
        out = [
            Candidate(r.lead_id, f"{name}:stage:{r.id}")
            for r in rows
            if (r.data or {}).get("to") == trig.stage.to
            and (trig.stage.from_ is None or (r.data or {}).get("from") == trig.stage.from_)
        ]
    elif source == "lead_events":
        score = trig.score
        assert score is not None
        field = {"total_score": "to", "fit_score": "fit", "engagement_score": "engagement"}
        for r in rows:
            d = r.data or {}
            new = d.get(field[score.field])
            old = d.get("from") if score.field == "total_score" else None
            if new is not None and new >= score.gte and (old is None or old < score.gte):
                out.append(Candidate(r.lead_id, f"{name}:score:{r.id}"))
    else:
        out = [Candidate(r.lead_id, f"{name}:{source}:{r.id}") for r in rows]
    return out, int(last)


def enrol_many(
    conn: Connection,
    name: str,
    journey: Journey,
    version: int,
    cands: Iterable[Candidate],
    now: datetime,
) -> int:
    """Enter each candidate unless the re-entry policy says no; returns how many entered."""
    cands = list({c.lead_id: c for c in cands}.values())  # one entry per person per batch
    if not cands:
        return 0
    ids = [c.lead_id for c in cands]
    prior: dict[str, list[Any]] = {}
    for i in range(0, len(ids), 1000):
        for r in conn.execute(
            select(
                journey_enrolments.c.lead_id,
                journey_enrolments.c.status,
                journey_enrolments.c.exited_at,
            ).where(
                journey_enrolments.c.journey == name,
                journey_enrolments.c.lead_id.in_(ids[i : i + 1000]),
            )
        ):
            prior.setdefault(r.lead_id, []).append(r)
    known = set()
    for i in range(0, len(ids), 1000):
        known |= set(
            conn.execute(select(leads.c.id).where(leads.c.id.in_(ids[i : i + 1000]))).scalars()
        )
    policy = journey.re_entry
    first = journey.steps[0].id
    rows = []
    for c in cands:
        if c.lead_id not in known:
            continue
        before = prior.get(c.lead_id, [])
        if any(p.status == "active" for p in before):
            continue  # one enrolment per person at a time
        if before and policy.policy == "never":
            continue
        last_exit = max((p.exited_at for p in before if p.exited_at), default=None)
        if last_exit is not None and now < last_exit + policy.cooldown:
            continue
        rows.append(
            dict(
                journey=name,
                version=version,
                lead_id=c.lead_id,
                entry_key=c.key[:300],
                status="active",
                step=first,
                due_at=now,
                visits={},
                defers=0,
                entered_at=now,
                updated_at=now,
            )
        )
    if not rows:
        return 0
    from marketops.notify.outbox import postgresql, sqlite

    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(journey_enrolments)
        .on_conflict_do_nothing(index_elements=["entry_key"])
        .returning(journey_enrolments.c.id)
    )
    # in lead order: people entering together get enrolment ids in the order of their lead ids,
    # so the step job (which claims by due time, then id) takes a batch of neighbouring leads
    # and their lead rows, email history and frequency-cap index entries sit on a few pages
    # instead of one page each (measured: docs/journeys.md)
    rows.sort(key=lambda r: r["lead_id"])
    # RETURNING counts what went in on both stores (executemany's rowcount does not)
    return len(conn.execute(stmt, rows).all())


def scan_journey(conn: Connection, name: str, journey: Journey, version: int, now: datetime) -> int:
    source = source_of(journey)
    after = _cursor(conn, name, source)
    if after is None:
        init_cursor(conn, name, journey)
        return 0
    cands, last = candidates(conn, name, journey, after, now)
    entered = enrol_many(conn, name, journey, version, cands, now)
    if last != after:
        _advance(conn, name, source, last)
    return entered


def entry_tick(ctx: Any, now: datetime) -> int:
    """One tick: every active journey reads its trigger's new rows; then the wake-up scan."""
    from marketops.journeys.versions import definition

    handled = 0
    with ctx.engine.connect() as conn:
        live = conn.execute(
            select(journey_states.c.journey, journey_states.c.version).where(
                journey_states.c.status == "active"
            )
        ).all()
    for name, version in live:
        with ctx.engine.begin() as conn:
            journey = definition(conn, name, version)
            handled += scan_journey(conn, name, journey, version, now)
    handled += wake(ctx, now)
    return handled


def enrol(ctx: Any, name: str, lead_id: str, *, now: datetime, key: str | None = None) -> dict:
    """Put one person in by hand (CLI `journey enrol`); the re-entry policy still applies."""
    from marketops.journeys.versions import definition, require_state

    with ctx.engine.begin() as conn:
        st = require_state(conn, name)
        if st.status == "stopped":
            raise MarketopsError(
                f"journey {name!r} is stopped",
                [Problem(name, "stopped", f"`marketops journey resume {name}` starts it again")],
            )
        if conn.execute(select(leads.c.id).where(leads.c.id == lead_id)).scalar() is None:
            raise NotFound(f"no lead with id {lead_id}")
        journey = definition(conn, name, st.version)
        entry_key = key or f"{name}:manual:{lead_id}:{now.isoformat()}"
        n = enrol_many(conn, name, journey, st.version, [Candidate(lead_id, entry_key)], now)
        row = conn.execute(
            select(journey_enrolments.c.id, journey_enrolments.c.status)
            .where(journey_enrolments.c.journey == name, journey_enrolments.c.lead_id == lead_id)
            .order_by(journey_enrolments.c.id.desc())
            .limit(1)
        ).first()
    return {
        "journey": name,
        "lead_id": lead_id,
        "entered": bool(n),
        "enrolment_id": row.id if row else None,
        "version": st.version,
        "reason": None if n else "re-entry policy: already in, or entered before",
    }


# --- wake-ups ---------------------------------------------------------------------------------
def _touched(conn: Connection, source: str, after: int) -> tuple[set[str], int]:
    t = _table(source)
    cols = [t.c.id] + (
        [t.c.user_id, t.c.anonymous_id, t.c.received_at] if source == "events" else [t.c.lead_id]
    )
    top = int(conn.execute(select(func.coalesce(func.max(t.c.id), after))).scalar_one())
    stmt = select(*cols).where(t.c.id > after, t.c.id <= top).order_by(t.c.id).limit(BATCH)
    if source == "lead_events":  # what goals look at; not the field updates journeys make
        stmt = stmt.where(t.c.kind.in_(("stage", "score")))
    rows = conn.execute(stmt).all()
    last = rows[-1].id if len(rows) == BATCH else top
    if not rows:
        return set(), last
    if source == "events":
        lids = set(_lead_of_events(conn, rows).values())
    else:
        lids = {r.lead_id for r in rows}
    return lids, int(last)


def wake_sources(conn: Connection) -> list[str]:
    out = ["activities", "lead_events", "journey_events", "events"]
    try:
        _segment_changes()
        out.append("segment_changes")
    except MarketopsError:
        pass
    return out


def wake(ctx: Any, now: datetime) -> int:
    """Make waiting enrolments of leads that something happened to due now."""
    woken = 0
    with ctx.engine.begin() as conn:
        for source in wake_sources(conn):
            after = _cursor(conn, WAKE, source)
            if after is None:
                conn.execute(
                    insert(journey_cursors).values(
                        journey=WAKE, source=source, position=_max_id(conn, source)
                    )
                )
                continue
            lids, last = _touched(conn, source, after)
            ids = sorted(lids)
            for i in range(0, len(ids), 1000):
                woken += conn.execute(
                    update(journey_enrolments)
                    .where(
                        journey_enrolments.c.status == "active",
                        journey_enrolments.c.lead_id.in_(ids[i : i + 1000]),
                        journey_enrolments.c.due_at > now,
                    )
                    .values(due_at=now)
                ).rowcount
            if last != after:
                _advance(conn, WAKE, source, last)
    return woken
