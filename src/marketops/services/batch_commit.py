"""Batch ingestion, writer side: one chunk of worker speculations into the store, atomically.

Per record, in file order, inside the chunk's transaction: a speculation (`batch_worker`) is kept
when its email is new to the store and to the chunk so far, and the account index its routing
rules saw is the one the store has now; the writer then completes routing (round-robin slot,
capacity) and starts the SLA clocks. Any other record is decided again from its raw form exactly
as `decide` does, with the person it updates. The rows go out in the order `persist` writes them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import compress
from types import MappingProxyType
from typing import Any

import numpy as np
from sqlalchemy import Connection

from marketops.pipeline.enrich import enrich
from marketops.pipeline.records import Assignment, Issue, Lead, StoredLead
from marketops.pipeline.route import needs_slot
from marketops.pipeline.runner import Outcome, Prepared, conclude, judge, start_timers, stored
from marketops.routing.assign import assign, complete
from marketops.services import batch_stage
from marketops.services.batch_worker import (
    ACTIVITY_INSERT,
    EVENT_INSERT,
    LEAD_HEAD,
    Deferred,
    Rejected,
    Setup,
    Speculated,
    as_speculated,
    prepare_row,
)
from marketops.services.capture import in_transaction, new_lead_id
from marketops.services.context import AppContext
from marketops.store import leads_repo
from marketops.store.bulk import bind_time, execute_many
from marketops.store.db import CACHE_KIB_BULK, WAL_PAGES_BULK, cache_size, checkpoint_every
from marketops.store.schema import leads

# per record for the summary: (status, suppressed, routed to, moved to MQL, quarantine reasons)
Tally = tuple[str, bool, str | None, bool, list[str]]
_UNREAD: Mapping[str, Any] = MappingProxyType({})  # a record the writer needs no raw form of


@dataclass
class _Writes:
    new_leads: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # id -> encoded row
    updated: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> lead_values
    activities: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    quarantined: list[tuple[Any, ...]] = field(default_factory=list)
    timers: list[dict[str, Any]] = field(default_factory=list)
    moved: set[str] = field(default_factory=set)
    reowned: set[str] = field(default_factory=set)
    notices: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # staged chunks (`batch_stage`): record position -> [i, queue, owner, lead row still whole,
    # its `routed` event's key in `routes` or None]; `activities` are then `(i, *row)` and
    # `events` `(i, k, *row)`, the writer's own rows
    kept: dict[int, list[Any]] = field(default_factory=dict)
    routes: dict[tuple[str, str], int] = field(default_factory=dict)  # (rule, data JSON) -> key
    staged: bool = False
    stored: dict[str, StoredLead] = field(default_factory=dict)  # id -> the lead it updates


class StoreEmails:
    """Which of a chunk's emails the writer must look up in the store (SQLite, one connection
    held for the file): those the store had when the file began (read once, if it had at most
    `limit` leads) and those the file's records have carried since, kept as a bitmap of their
    hashes. A false positive costs a lookup; a false negative cannot happen while this
    connection is the store's only writer, and any commit by another connection (`PRAGMA
    data_version`) turns the filter off for the rest of the file: every email is looked up
    again. At a million leads the lookups of emails new to the store cost ~3 µs a row."""

    def __init__(self, limit: int):
        self.limit = limit
        self.mask = 0  # the bitmap's bits - 1: ~64 bits an email (~1.5% false positives)
        self.bits: np.ndarray[Any, np.dtype[np.uint8]] | None = None
        self.version: int | None = None
        self.off = False

    def begin(self, conn: Connection) -> bool:
        """At the start of each write transaction: may the filter answer in it?"""
        if self.off:
            return False
        raw = conn.connection.driver_connection
        (version,) = raw.execute("PRAGMA data_version").fetchone()
        if self.bits is None:
            (count,) = raw.execute(f"SELECT count(*) FROM {leads.name}").fetchone()
            if count > self.limit:
                self.off = True
                return False
            self.mask = (1 << max(16, (64 * (count + self.limit)).bit_length())) - 1
            self.bits = np.zeros((self.mask + 1) >> 3, dtype=np.uint8)
            self._add(self._hashes([e for (e,) in raw.execute(f"SELECT email FROM {leads.name}")]))
            self.version = version
        elif version != self.version:  # another connection committed: it may have added leads
            self.off, self.bits = True, None
            return False
        return True

    def to_look_up(self, emails: Sequence[str]) -> list[str]:
        """Of `emails`, those that may be in the store; all of them count as there from now on
        (the records carrying them are written in this transaction; a rollback leaves them
        counted, which costs lookups, never a wrong answer)."""
        assert self.bits is not None
        h = self._hashes(emails)
        maybe = (self.bits[h >> 3] >> (h & 7).astype(np.uint8)) & 1
        self._add(h)
        return list(compress(emails, maybe.tolist()))

    def _hashes(self, emails: Sequence[str]) -> np.ndarray[Any, np.dtype[np.int64]]:
        return np.fromiter(map(hash, emails), dtype=np.int64, count=len(emails)) & self.mask

    def _add(self, h: np.ndarray[Any, np.dtype[np.int64]]) -> None:
        assert self.bits is not None
        np.bitwise_or.at(self.bits, h >> 3, np.left_shift(1, h & 7).astype(np.uint8))


@dataclass
class Part:
    """One chunk as the workers answered it (`batch_worker.Result`), for `commit_chunks`."""

    chunk: Sequence[tuple[int, Any]]
    now: datetime
    lookups: Mapping[str, Any]
    speculated: Sequence[tuple[Any, ...] | Rejected]
    stage: str | None = None  # the file the workers staged its rows in (SQLite), deleted after
    known: Mapping[int, tuple[Lead, list[Issue]]] | None = None  # possible repeats' leads


def commit_chunks(
    ctx: AppContext,
    setup: Setup,
    parts: Sequence[Part],
    extra_writes: Callable[[Connection, list[Tally]], None] | None = None,
    *,
    held: Connection | None = None,
    emails: StoreEmails | None = None,
) -> list[Tally]:
    """Write chunks in order, in one transaction (on `held`, a connection the caller keeps for
    the file, when given: its page cache stays warm from one transaction to the next);
    `extra_writes(conn, tally)` (the checkpoint of the last one) joins it. Several chunks per commit: each commit rewrites every index page its
    rows touched, and rows with random keys (emails, domains) touch a page each; a group of
    chunks shares those pages (`ingest_file`'s `commit_rows`). Each staged chunk's file is
    attached under its own name (`batch_stage.MAX_ATTACHED` at most) and deleted afterwards.
    `emails`: which emails need looking up in the store, kept across the file's transactions."""
    assert len(parts) <= batch_stage.MAX_ATTACHED or all(p.stage is None for p in parts)
    raws: list[Any] = []
    aliases = [f"{batch_stage.STAGE}{k}" for k in range(len(parts))]
    staged = [(p.stage, alias) for p, alias in zip(parts, aliases, strict=True) if p.stage]

    def write(conn: Connection) -> list[Tally]:
        if staged:
            raws.append(conn.connection.driver_connection)
        # A chunk dirties thousands of pages: at the store's interval every commit copied the WAL
        # back into the database file, the same hot index pages each time (measured -6 µs CPU and
        # -45 µs wall per row at 300k); the pool sets the store's own back at checkin.
        checkpoint_every(conn, WAL_PAGES_BULK)
        cache_size(conn, CACHE_KIB_BULK)
        tally: list[Tally] = []
        look_up = emails if emails is not None and emails.begin(conn) else None
        for p, alias in zip(parts, aliases, strict=True):
            tally += _write(
                conn,
                setup,
                p.chunk,
                p.now,
                p.lookups,
                p.speculated,
                p.stage,
                p.known,
                alias,
                look_up,
            )
        if extra_writes is not None:
            extra_writes(conn, tally)
        return tally

    try:
        return in_transaction(ctx, write, held)
    finally:
        for raw in {id(r): r for r in raws}.values():
            for path, alias in staged:
                batch_stage.detach(raw, path, alias)
        for path, _ in staged:  # also when no transaction began
            batch_stage.remove(path)


def _write(
    conn: Connection,
    setup: Setup,
    chunk: Sequence[tuple[int, Any]],
    now: datetime,
    lookups: Mapping[str, Any],
    results: Sequence[tuple[Any, ...] | Rejected],
    stage: str | None = None,
    known_leads: Mapping[int, tuple[Lead, list[Issue]]] | None = None,
    alias: str = f"{batch_stage.STAGE}0",
    emails: StoreEmails | None = None,
) -> list[Tally]:
    cfg = setup.cfg
    shipped = known_leads or {}

    def prepared(i: int) -> Prepared:
        """Record i validated and normalized: as the worker did it, or again here. A shipped
        lead comes without its raw record (not parsed again: only a quarantined record's raw
        form is stored, and the worker accepted this one)."""
        if i in shipped:
            lead, issues = shipped[i]
            return Prepared(_UNREAD, issues, lead)
        return prepare_row(setup.record(chunk[i][1]), cfg, now)

    speculated = [as_speculated(s) for s in results]
    # one indexed probe per email (that may be in the store), the found ones read whole
    wanted = [s.email for s in speculated if not isinstance(s, Rejected)]
    existing = leads_repo.load_by_emails(
        conn, emails.to_look_up(wanted) if emails is not None else wanted
    )
    existing_ids = {s.id for s in existing.values()}
    slots = leads_repo.SlotAllocator(conn)
    trusted = slots.accounts(cfg.routing) is setup.accounts
    known: dict[str, StoredLead | int] = dict(existing)  # int: a speculation kept in this chunk
    placed: dict[int, tuple[str | None, str | None]] = {}
    w = _Writes(staged=stage is not None, stored={s.id: s for s in existing.values()})
    at = bind_time(now, setup.dialect)  # every `routed` event's time, encoded once a chunk
    memos = _Memos()
    tally: list[Tally] = []
    for i, ((n, _), s) in enumerate(zip(chunk, speculated, strict=True)):
        if isinstance(s, Rejected):
            w.quarantined.append(s.row)
            tally.append(("quarantined", False, None, False, s.reasons))
            continue
        prior = known.get(s.email)
        if prior is None and trusted and not isinstance(s, Deferred):
            a = _keep(w, setup, i, s, slots, now, at, memos)
            placed[i] = (a.queue, a.owner) if a is not None else (None, None)
            known[s.email] = i
            tally.append(("accepted", s.blocked, _routed(a), s.stage == "MQL", []))
            continue
        if isinstance(prior, int):
            if w.staged:
                w.kept[prior][3] = 0  # this record's decision replaces the staged lead row
            prior = _rebuild(setup, prepared(prior), speculated[prior], placed[prior], now, lookups)
        p = prepared(i)
        assert p.lead is not None  # the worker accepted it: prepare is deterministic
        j = judge(enrich(p.lead, lookups), prior, cfg, setup.suppression, now, new_lead_id)
        a, data = assign(j.view, cfg, slots, now, j.queue, j.owner) if not j.blocked else (None, {})
        o = conclude(j, p, cfg, a, data, now)
        known[s.email] = stored(j, o.queue, o.owner)
        _decided(w, setup, o, i, n, existing_ids, now, at)
        moved = o.stage == "MQL" and any(k == "stage" for k, _, _ in o.events)
        tally.append((o.status, o.suppressed, _routed(o.assignment), moved, []))
    slots.save()
    _flush(conn, setup, w, now, at, stage, alias)
    return tally


def _routed(a: Assignment | None) -> str | None:
    return (a.queue or f"owner:{a.owner}") if a is not None else None


@dataclass
class _Memos:
    """One chunk's answers that depend on nothing a record changes (the config and `now` are the
    chunk's; no round-robin slot is taken), so each is worked out once a chunk, not a record.

    `routes`: by the identities of a speculation's `matched` and `reasons` (the workers send
    equal answers as one object a chunk; the objects live as long as the chunk's results, so
    their ids stay theirs): the completed assignment, its `routed` data and that data's JSON,
    for routes that need no member picked (a rule's owner, a queue without members). `timers`:
    by (stage, queue, owner), the SLA clocks a new lead starts, without their `lead_id`."""

    routes: dict[tuple[int, int], tuple[Assignment | None, dict[str, Any], str]] = field(
        default_factory=dict
    )
    timers: dict[tuple[str, str | None, str | None], list[dict[str, Any]]] = field(
        default_factory=dict
    )


def _keep(
    w: _Writes,
    setup: Setup,
    i: int,
    s: Speculated,
    slots: Any,
    now: datetime,
    at: Any,
    memos: _Memos,
) -> Assignment | None:
    """A speculation stands: complete its routing, append its rows. `at`: `now` encoded."""
    cfg = setup.cfg
    a: Assignment | None = None
    if s.matched is not None:
        key = (id(s.matched), id(s.reasons))
        route = memos.routes.get(key)
        if route is None:
            queue, owner, rule, evaluated = s.matched
            matched = Assignment(queue, owner, rule, list(evaluated))
            picks = needs_slot(cfg.routing, matched)  # before `complete` names the owner
            a, data = complete(matched, list(s.reasons), cfg, slots, now, None, None)
            # `enc.event`'s JSON through orjson's fast path (`Encoders.json`: the same text)
            route = (a, data, setup.encoders.json(data))
            if not picks:
                memos.routes[key] = route  # no member picked: the same answer all chunk long
        a, data, text = route
    queue, owner = (a.queue, a.owner) if a is not None else (None, None)
    if w.staged:  # its rows are in the stage file; its `routed` event is written by key
        route_key = None if a is None else w.routes.setdefault((a.rule, text), len(w.routes))
        w.kept[i] = [i, queue, owner, 1, route_key]  # `move_kept`'s row as it stands
    else:
        w.new_leads[s.lead_id] = (*s.lead_head, queue, owner)
        w.activities.append(s.activity)
        w.events.extend(s.events)
        if a is not None:
            w.events.append((s.lead_id, at, "routed", a.rule, text))
    if a is not None and data.get("notify") and data.get("owner"):
        w.notices.append((s.lead_id, data))
    if s.stage not in setup.sla_stages:
        return a  # no SLA clock starts in this stage
    clocks = memos.timers.get((s.stage, queue, owner))
    if clocks is None:
        clocks = start_timers(cfg, "", s.stage, (None, None), queue, owner, now)
        memos.timers[(s.stage, queue, owner)] = clocks
    w.timers.extend([{**t, "lead_id": s.lead_id, "result": {}} for t in clocks])
    return a


def _rebuild(
    setup: Setup,
    p: Prepared,
    s: Speculated | Rejected,
    place: tuple[str | None, str | None],
    now: datetime,
    lookups: Mapping[str, Any],
) -> StoredLead:
    """The person a kept speculation created, as a later record of the same chunk sees it."""
    assert isinstance(s, Speculated) and p.lead is not None
    j = judge(enrich(p.lead, lookups), None, setup.cfg, setup.suppression, now, lambda: s.lead_id)
    return stored(j, *place)


def _decided(
    w: _Writes,
    setup: Setup,
    o: Outcome,
    i: int,
    n: int,
    existing_ids: set[str],
    now: datetime,
    at: Any,
) -> None:
    """A record decided here: the rows `persist` would write for it. `at`: `now` encoded."""
    enc = setup.encoders
    lid = o.lead_id
    assert lid is not None and o.lead is not None
    values = leads_repo.lead_values(o, now)
    if lid in existing_ids:
        w.updated[lid] = values
    else:  # new, or created earlier in this chunk: the last state is what gets inserted
        w.new_leads[lid] = enc.lead(tuple(values[c] for c in enc.lead.cols))
    lead = o.lead
    details = {"source": setup.source, "row": n, "message": lead.message}
    ref = f"{setup.ref_prefix}:{n}"
    act = enc.activity((lid, lead.activity, lead.occurred_at, ref, details))
    # `enc.event`'s rows, built directly: the time is the chunk's `at`, the data its JSON
    if w.staged:  # keyed by record position, merged with the staged rows in order
        w.activities.append((i, *act))
        w.events.extend(
            (i, k, lid, at, kind, actor, enc.json(d)) for k, (kind, actor, d) in enumerate(o.events)
        )
    else:
        w.activities.append(act)
        w.events.extend((lid, at, kind, actor, enc.json(d)) for kind, actor, d in o.events)
    w.timers.extend(o.timers)
    if o.lead_id in existing_ids:
        kinds = {k for k, _, _ in o.events}
        if "stage" in kinds:
            w.moved.add(o.lead_id)
        elif "routed" in kinds:
            w.reowned.add(o.lead_id)
    w.notices.extend(leads_repo.notices_of(o))


def _flush(
    conn: Connection,
    setup: Setup,
    w: _Writes,
    now: datetime,
    at: Any,
    stage: str | None,
    alias: str,
) -> None:
    """In `persist`'s order: leads (inserts, then updates), activities, events, timers, quarantine."""
    enc = setup.encoders
    execute_many(conn, enc.lead.sql, list(w.new_leads.values()), multirow=True)
    stored = {i: leads_repo.indexed_values(w.stored[i]) for i in w.updated}
    leads_repo.update_leads(conn, list(w.updated.values()), stored)
    if stage is not None:
        kept = list(w.kept.values())
        batch_stage.move_kept(
            conn,
            stage,
            LEAD_HEAD,
            ACTIVITY_INSERT,
            EVENT_INSERT,
            kept,
            w.activities,
            w.events,
            alias,
            [(key, rule, text) for (rule, text), key in w.routes.items()],
            at,
        )
    else:
        execute_many(conn, enc.activity.sql, w.activities)
        execute_many(conn, enc.event.sql, w.events)
    leads_repo.write_timers(conn, w.moved, w.reowned, w.timers, w.notices, now)
    execute_many(conn, enc.quarantine.sql, w.quarantined, multirow=True)
