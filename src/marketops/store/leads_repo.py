"""Reading and writing leads, their activities and events, and quarantined records."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, UniqueConstraint, bindparam, case, func, insert, select, update

from marketops.errors import NotFound
from marketops.pipeline.records import Lead, StoredLead
from marketops.pipeline.runner import Outcome
from marketops.store.bulk import (
    RowDecoder,
    RowEncoder,
    bulk_insert,
    decode_rows,
    driver_rows,
    param_marker,
    update_by_id,
)
from marketops.store.schema import activities, lead_events, leads, quarantine, queue_cursors

LEAD_COLUMNS = (
    "email",
    "email_original",
    "first_name",
    "last_name",
    "title",
    "company",
    "company_key",
    "company_domain",
    "phone",
    "phone_e164",
    "country",
    "region",
    "industry",
    "employees",
    "source",
)


# what `load_by_emails` reads of a lead; read through the driver (`RowDecoder`): at a million
# leads SQLAlchemy's rows cost more than the indexed lookups
_STORED = (
    "id",
    *LEAD_COLUMNS,
    "consent",
    "flags",
    "warnings",
    "attributes",
    "lifecycle_stage",
    "fit_score",
    "engagement_score",
    "total_score",
    "queue",
    "owner",
    "suppressed",
    "created_at",
)
_DECODERS: dict[str, tuple[RowDecoder, RowDecoder]] = {}


def _decoders(dialect: str) -> tuple[RowDecoder, RowDecoder]:
    if dialect not in _DECODERS:
        _DECODERS[dialect] = (
            RowDecoder(leads, _STORED, dialect),
            RowDecoder(activities, ("lead_id", "type", "occurred_at"), dialect),
        )
    return _DECODERS[dialect]


_ALL = tuple(c.name for c in leads.c)
_READERS: dict[tuple[str, tuple[str, ...]], RowDecoder] = {}


def lead_rows(
    conn: Connection,
    ids: Sequence[str],
    *,
    lock: bool = False,
    columns: Sequence[str] = _ALL,
) -> dict[str, dict[str, Any]]:
    """Lead rows by id (`columns`, `id` among them; all by default), read through the driver as
    SQLAlchemy would return them (batches of thousands: journey steps, email sends and their
    delivery). `lock`: on PostgreSQL, taken `FOR UPDATE` in id order, so concurrent writers
    lock people in one order."""
    dialect = conn.dialect.name
    key = (dialect, tuple(columns))
    read = _READERS.get(key) or _READERS.setdefault(key, RowDecoder(leads, key[1], dialect))
    lock_sql = " ORDER BY id FOR UPDATE" if lock and dialect == "postgresql" else ""
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), 1000):
        chunk = list(ids[i : i + 1000])
        sql = f"{read.sql} WHERE id IN ({', '.join([read.marker] * len(chunk))}){lock_sql}"
        out.update((r["id"], r) for r in read.fetch(conn, sql, chunk))
    return out


def _stored(r: Sequence[Any]) -> StoredLead:
    """A decoded `_STORED` row as the person it is: positionally (`_STORED` begins with `id`
    and `Lead`'s own first fields, `LEAD_COLUMNS`; the rest is in `StoredLead`'s order). A dict
    a row and keywords cost about twice as much."""
    lead = Lead(
        *r[1:_LEAD_END],
        consent=dict(r[_LEAD_END] or {}),
        flags=dict(r[_LEAD_END + 1] or {}),
        warnings=list(r[_LEAD_END + 2] or []),
        attributes=dict(r[_LEAD_END + 3] or {}),
    )
    return StoredLead(r[0], lead, *r[_LEAD_END + 4 : -1], [], r[-1])


_LEAD_END = 1 + len(LEAD_COLUMNS)
assert _STORED[_LEAD_END - 1] == LEAD_COLUMNS[-1] and _STORED[_LEAD_END + 4] == "lifecycle_stage"


def load_by_emails(conn: Connection, emails: Iterable[str]) -> dict[str, StoredLead]:
    """Existing leads (with their activities) for a batch of normalized emails."""
    emails = list(set(emails))
    lead_rows, act_rows = _decoders(conn.dialect.name)
    found: dict[str, StoredLead] = {}
    for start in range(0, len(emails), 500):
        part = emails[start : start + 500]
        marks = ", ".join([lead_rows.marker] * len(part))
        sql = f"{lead_rows.sql} WHERE email IN ({marks})"
        by_id = {}
        for r in decode_rows(lead_rows.fetch_raw(conn, sql, part), lead_rows):
            s = _stored(r)
            found[s.lead.email] = by_id[s.id] = s
        if by_id:
            ids = list(by_id)
            marks = ", ".join([act_rows.marker] * len(ids))
            sql = f"{act_rows.sql} WHERE lead_id IN ({marks}) ORDER BY id"
            for lead_id, kind, at in decode_rows(act_rows.fetch_raw(conn, sql, ids), act_rows):
                by_id[lead_id].activities.append((kind, at))
    return found


def ensure_cursors(conn: Connection, queues: Iterable[str]) -> None:
    have = {q for (q,) in conn.execute(select(queue_cursors.c.queue))}
    missing = [{"queue": q, "position": 0} for q in queues if q not in have]
    if missing:
        conn.execute(insert(queue_cursors), missing)


class SlotAllocator:
    """Round-robin positions for one transaction.

    A queue's row is locked on first use (SQLite holds the write lock from BEGIN IMMEDIATE;
    PostgreSQL takes the row lock with the UPDATE) and the new position is written once at the
    end, so a batch of thousands costs two statements per queue, and a concurrent transaction
    waits only if it needs the same queue.
    """

    def __init__(self, conn: Connection):
        self.conn = conn
        self.start: dict[str, int] = {}
        self.next: dict[str, int] = {}
        self._load: dict[str, int] | None = None  # open leads per owner, this transaction's view
        self._counted: set[str] = set()
        self._accounts: Any = None

    def __call__(self, queue: str) -> int:
        self._lock(queue)
        pos = self.next[queue]
        self.next[queue] = pos + 1
        return pos

    def _lock(self, queue: str) -> None:
        if queue not in self.next:
            m, t = param_marker(self.conn.dialect.name), queue_cursors.name
            # a no-op UPDATE takes the row lock before the position is read
            # driver SQL (`driver_rows`): a batch writer runs these for every chunk
            found = driver_rows(
                self.conn,
                f"UPDATE {t} SET position = position WHERE queue = {m} RETURNING position",
                (queue,),
            )
            if found:
                pos = found[0][0]
            else:  # a queue added to routing.yml while the store was open
                driver_rows(
                    self.conn, f"INSERT INTO {t} (queue, position) VALUES ({m}, 0)", (queue,)
                )
                pos = 0
            self.start[queue] = self.next[queue] = pos

    def load(
        self, queue: Any, open_stages: set[str], queues: Mapping[str, Any] | None = None
    ) -> dict[str, int]:
        """Open leads per member of `queue` (counted once, after the queue's row is locked, then
        kept up to date by `took`), so capacity holds within and across transactions. A member
        of several queues (`queues`: all of them) can be given leads through any of them: the
        rows of every queue sharing a member are locked too, in name order."""
        names = {m.name for m in queue.members}
        sharing = [
            q.name
            for q in (queues or {}).values()
            if q.name != queue.name and names & {m.name for m in q.members}
        ]
        for name in sorted([queue.name, *sharing]):
            self._lock(name)  # count only under the locks of every queue that can assign them
        if self._load is None:
            self._load = {}
        names = [m.name for m in queue.members if m.name not in self._counted]
        if names:
            m, stages = param_marker(self.conn.dialect.name), sorted(open_stages)
            rows = driver_rows(
                self.conn,
                f"SELECT owner, count(*) FROM {leads.name}"
                f" WHERE owner IN ({', '.join([m] * len(names))})"
                f" AND lifecycle_stage IN ({', '.join([m] * len(stages))}) GROUP BY owner",
                (*names, *stages),
            )
            self._load.update({n: 0 for n in names})
            self._load.update({o: c for o, c in rows})
            self._counted.update(names)
        return self._load

    def took(self, owner: str) -> None:
        if self._load is not None and owner in self._load:
            self._load[owner] += 1

    def accounts(self, routing: Any) -> Any:
        """The account index (workspace CSV + accounts table), or None when no rule needs it."""
        if not any(r[4] for r in routing.rules):
            return None
        if self._accounts is None:  # once per transaction, not once per lead
            from marketops.routing.accounts import index_for

            self._accounts = index_for(self.conn, routing.accounts_csv)
        return self._accounts

    def save(self) -> None:
        m, t = param_marker(self.conn.dialect.name), queue_cursors.name
        for queue, pos in self.next.items():
            if pos != self.start[queue]:
                driver_rows(
                    self.conn, f"UPDATE {t} SET position = {m} WHERE queue = {m}", (pos, queue)
                )


def lead_values(o: Outcome, now: datetime) -> dict[str, Any]:
    lead = o.lead
    assert lead is not None and o.score is not None
    values = {c: getattr(lead, c) for c in LEAD_COLUMNS}
    values.update(
        id=o.lead_id,
        lifecycle_stage=o.stage,
        fit_score=o.score.fit,
        engagement_score=o.score.engagement,
        total_score=o.score.total,
        queue=o.queue,
        owner=o.owner,
        suppressed=o.suppressed,
        flags=lead.flags,
        warnings=lead.warnings,
        attributes=lead.attributes,
        consent=lead.consent,
        created_at=o.created_at,
        updated_at=now,
    )
    return values


def persist(
    conn: Connection,
    outcomes: Sequence[Outcome],
    *,
    existing_ids: set[str],
    source: str,
    refs: Sequence[str | None],
    rows: Sequence[int | None],
    now: datetime,
) -> None:
    """Write a decided batch: final lead states, every activity and event, every quarantined row."""
    final: dict[str, dict[str, Any]] = {}
    acts, events, quarantined, q_outcomes = [], [], [], []
    for o, ref, row in zip(outcomes, refs, rows, strict=True):
        if o.status == "quarantined":
            quarantined.append(
                {
                    "source": source,
                    "source_ref": ref,
                    "row_number": row,
                    "payload": dict(o.raw),
                    "errors": [i.as_dict() for i in o.issues],
                    "status": "open",
                    "created_at": now,
                }
            )
            q_outcomes.append(o)
            continue
        final[o.lead_id] = lead_values(o, now)
        lead = o.lead
        acts.append(
            {
                "lead_id": o.lead_id,
                "type": lead.activity,
                "occurred_at": lead.occurred_at,
                "source_ref": ref,
                "details": {"source": source, "row": row, "message": lead.message},
            }
        )
        for kind, actor, data in o.events:
            events.append(
                {"lead_id": o.lead_id, "at": now, "kind": kind, "actor": actor, "data": data}
            )
    new = [v for k, v in final.items() if k not in existing_ids]
    old = [v for k, v in final.items() if k in existing_ids]
    if new:
        bulk_insert(conn, leads, new)
    update_leads(conn, old)
    bulk_insert(conn, activities, acts)
    bulk_insert(conn, lead_events, events)
    _restart_timers(conn, outcomes, existing_ids, now)
    if quarantined:
        ids = (
            conn.execute(
                insert(quarantine).returning(quarantine.c.id, sort_by_parameter_order=True),
                quarantined,
            )
            .scalars()
            .all()
        )
        for o, qid in zip(q_outcomes, ids, strict=True):
            o.quarantine_id = qid


# `leads` columns in an index (the primary key aside): SQLite rewrites the index entry of every
# indexed column an UPDATE sets, changed or not
_INDEXED = frozenset(
    {c.name for ix in leads.indexes for c in ix.columns}
    | {c.name for k in leads.constraints if isinstance(k, UniqueConstraint) for c in k.columns}
)
_UPDATERS: dict[tuple[str, tuple[str, ...]], RowEncoder] = {}


def indexed_values(s: StoredLead) -> dict[str, Any]:
    """A loaded lead's values of the indexed columns, for `update_leads`' `stored`."""
    return {c: getattr(s.lead, c) if c in LEAD_COLUMNS else getattr(s, c) for c in _INDEXED}


def update_leads(
    conn: Connection,
    old: Sequence[dict[str, Any]],
    stored: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """New states of existing leads (values as `lead_values` builds them), one executemany in
    driver SQL per set of columns: through SQLAlchemy's bound UPDATE an updated lead cost ~70 µs.

    `stored`: by id, the indexed columns' values the store holds in this transaction
    (`indexed_values`); an indexed column whose value stays is left out of that lead's UPDATE.
    Setting every column made SQLite rewrite all five index entries of each lead: ~45 µs a lead
    at a million leads, ~10 µs when no indexed column is set."""
    if not old:
        return
    cols = [c for c in old[0] if c not in ("id", "created_at")]
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for v in old:
        prior = stored.get(v["id"]) if stored else None
        same = {c for c, x in prior.items() if c in v and v[c] == x} if prior else ()
        groups.setdefault(tuple(c for c in cols if c not in same), []).append(v)
    dialect = conn.dialect.name
    for key, rows in groups.items():
        k = (dialect, (*key, "id"))
        enc = _UPDATERS.get(k) or _UPDATERS.setdefault(k, RowEncoder(leads, k[1], dialect))
        update_by_id(conn, enc, [enc([v[c] for c in enc.cols]) for v in rows])


def _restart_timers(
    conn: Connection, outcomes: Sequence[Outcome], existing_ids: set[str], now: datetime
) -> None:
    moved, reowned, new, notices = set(), set(), [], []
    for o in outcomes:
        if o.status == "quarantined":
            continue
        new.extend(o.timers)
        if o.lead_id in existing_ids:
            kinds = {k for k, _, _ in o.events}
            if "stage" in kinds:
                moved.add(o.lead_id)
            elif "routed" in kinds:
                reowned.add(o.lead_id)
        notices.extend(notices_of(o))
    write_timers(conn, moved, reowned, new, notices, now)


def notices_of(o: Outcome) -> list[tuple[str, dict[str, Any]]]:
    return [
        (o.lead_id, data)  # type: ignore[misc]
        for kind, _, data in o.events
        if kind == "routed" and data.get("notify") and data.get("owner")
    ]


def write_timers(
    conn: Connection,
    moved: set[str],
    reowned: set[str],
    new: Sequence[dict[str, Any]],
    notices: Sequence[tuple[str, dict[str, Any]]],
    now: datetime,
) -> None:
    """Stop the SLA clocks of leads that left their stage (`moved`) or changed owner
    (`reowned`); start the `new` ones; queue the new owners' notifications (outbox) in the same
    transaction."""
    from marketops.store.tables_lifecycle import sla_timers

    stop: set[int] = set()
    marker = param_marker(conn.dialect.name)
    for ids, only_owned in ((sorted(moved), False), (sorted(reowned), True)):
        for start in range(0, len(ids), 500):
            # found by lead_id alone, filtered here: given `status = 'pending'` as well, SQLite
            # picks the (status, due_at) index and reads every pending timer of the store, once
            # per batch (quadratic over a million-lead ingest); driver SQL (`driver_rows`): a
            # 500-value IN list through SQLAlchemy cost more to compile than to run
            part = ids[start : start + 500]
            found = driver_rows(
                conn,
                f"SELECT id, status, owner FROM {sla_timers.name}"
                f" WHERE lead_id IN ({', '.join([marker] * len(part))})",
                part,
            )
            stop.update(
                i
                for i, status, owner in found
                if status == "pending" and (owner is not None or not only_owned)
            )
    # by primary key only (any status term makes SQLite scan again); a timer that stopped
    # being pending meanwhile (PostgreSQL: another transaction) keeps its status and result
    pending = sla_timers.c.status == "pending"
    reason = bindparam(
        "reason", {"reason": "stage or owner changed"}, type_=sla_timers.c.result.type
    )
    ordered = sorted(stop)
    for start in range(0, len(ordered), 500):
        conn.execute(
            update(sla_timers)
            .where(sla_timers.c.id.in_(ordered[start : start + 500]))
            .values(
                status=case((pending, "cancelled"), else_=sla_timers.c.status),
                result=case((pending, reason), else_=sla_timers.c.result),
            )
        )
    if new:  # hundreds of rows a statement on SQLite (`execute_many`'s multirow)
        bulk_insert(conn, sla_timers, new, multirow=True)
    if notices:
        from marketops.routing.notices import assignment_notice

        for lead_id, data in notices:
            assignment_notice(conn, lead_id, data, data["notify"], now)


def lead_with_history(conn: Connection, lead_id: str) -> dict[str, Any]:
    row = conn.execute(select(leads).where(leads.c.id == lead_id)).first()
    if row is None:
        raise NotFound(f"no lead with id {lead_id}")
    out = dict(row._mapping)
    out["activities"] = [
        dict(r._mapping)
        for r in conn.execute(
            select(activities.c.type, activities.c.occurred_at, activities.c.details)
            .where(activities.c.lead_id == lead_id)
            .order_by(activities.c.id)
        )
    ]
    out["history"] = [
        dict(r._mapping)
        for r in conn.execute(
            select(lead_events.c.at, lead_events.c.kind, lead_events.c.actor, lead_events.c.data)
            .where(lead_events.c.lead_id == lead_id)
            .order_by(lead_events.c.id)
        )
    ]
    return out


def counts(conn: Connection) -> dict[str, int]:
    return {
        "leads": conn.scalar(select(func.count()).select_from(leads)) or 0,
        "activities": conn.scalar(select(func.count()).select_from(activities)) or 0,
        "quarantine_open": conn.scalar(
            select(func.count()).select_from(quarantine).where(quarantine.c.status == "open")
        )
        or 0,
    }
