"""The transactional outbox: enqueue inside the caller's transaction; claim, record, replay.

A delivery is written in the same transaction as the change that causes it, so either both happen
or neither does. The worker claims due rows with a lease (`claimed_until`): on PostgreSQL with
`SELECT … FOR UPDATE SKIP LOCKED` so two workers never take the same row, on SQLite with a
conditional UPDATE under `BEGIN IMMEDIATE` (one writer at a time). It sends outside any
transaction and records the result with a conditional UPDATE on its claim token. A worker that
dies mid-send loses its lease and the row is sent again: delivery is at-least-once, and the
`Idempotency-Key` lets receivers drop the rare duplicate.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from marketops.errors import MarketopsError, NotFound, Problem
from marketops.notify import CHANNELS
from marketops.notify.policy import Decision, SendResult
from marketops.store.bulk import SMALL_BATCH, RowEncoder, execute_many, insert_rows, param_marker
from marketops.store.tables_notify import TS, outbox, outbox_attempts

STATUSES = ("pending", "delivered", "dead")
# a payload with this key is a recipe (a journey email: template, lead, params) that a composer
# handed to `delivery.deliver_due` turns into the message when it is sent
COMPOSE_KEY = "compose"


def enqueue(
    conn: Connection,
    *,
    channel: str,
    destination: str,
    payload: dict,
    idempotency_key: str,
    now: datetime,
    subject: str | None = None,
) -> int:
    """Write one delivery in the caller's transaction; returns its id.

    A key already in the outbox is ignored (no second message) and the existing id is returned.
    `INSERT … ON CONFLICT DO NOTHING` keeps the caller's transaction usable on PostgreSQL, where a
    unique violation would abort it.
    """
    _check(channel, destination, idempotency_key, payload)
    values = dict(
        idempotency_key=idempotency_key,
        channel=channel,
        destination=destination,
        subject=subject,
        payload=payload,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    new_id = conn.execute(_insert_stmt(conn.dialect.name), values).scalar()
    if new_id is not None:
        return int(new_id)
    return int(
        conn.execute(
            select(outbox.c.id).where(outbox.c.idempotency_key == idempotency_key)
        ).scalar_one()
    )


def _check(channel: str, destination: str, idempotency_key: str, payload: Any) -> None:
    problems = []
    if channel not in CHANNELS:
        problems.append(
            Problem("channel", f"unknown channel {channel!r}", f"use one of {CHANNELS}")
        )
    if not destination:
        problems.append(Problem("destination", "empty", "a URL, a named destination or an address"))
    if not idempotency_key or len(idempotency_key) > 200:
        problems.append(Problem("idempotency_key", "must be 1-200 characters"))
    if not isinstance(payload, dict):
        problems.append(Problem("payload", "must be a JSON object"))
    if problems:
        raise MarketopsError("cannot enqueue the notification", problems)


@dataclass(slots=True)  # not frozen: a frozen init costs ~3 µs, and a batch makes thousands
class Message:
    """One delivery for `enqueue_many`: `enqueue`'s arguments but `now`."""

    channel: str
    destination: str
    payload: dict
    idempotency_key: str
    subject: str | None = None


_COLUMNS = (
    "idempotency_key",
    "channel",
    "destination",
    "subject",
    "payload",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
    "updated_at",
)
_CHUNK = 500  # keys per IN list


def enqueue_many(conn: Connection, messages: Sequence[Message], *, now: datetime) -> list[int]:
    """`enqueue` for many deliveries: one executemany and one id lookup per batch.

    Same rows, same keys and the same rule (a key already in the outbox, or twice in the batch,
    is one delivery) as `enqueue`; returns each message's id in order.
    """
    if len(messages) <= 1:
        return [
            enqueue(
                conn,
                channel=m.channel,
                destination=m.destination,
                payload=m.payload,
                idempotency_key=m.idempotency_key,
                now=now,
                subject=m.subject,
            )
            for m in messages
        ]
    for m in messages:
        _check(m.channel, m.destination, m.idempotency_key, m.payload)
    encode = RowEncoder(outbox, _COLUMNS, conn.dialect.name)
    fixed = ("pending", 0, now, now, now)
    rows = encode.many(
        [
            (m.idempotency_key, m.channel, m.destination, m.subject, m.payload, *fixed)
            for m in messages
        ]
    )
    keys = list(dict.fromkeys(m.idempotency_key for m in messages))
    ids: dict[str, int] = {}
    conflict = " ON CONFLICT (idempotency_key) DO NOTHING"
    if conn.dialect.name == "postgresql" and len(rows) > SMALL_BATCH:
        # COPY and one INSERT … RETURNING; only keys that were already there are looked up
        new = insert_rows(conn, encode, rows, suffix=conflict, returning="idempotency_key, id")
        ids.update((k, int(v)) for k, v in new)
        keys = [k for k in keys if k not in ids]
    elif conn.dialect.name == "postgresql":
        execute_many(conn, encode.sql, rows, suffix=conflict)
    else:
        with closing(conn.connection.driver_connection.cursor()) as cur:
            top = cur.execute("SELECT max(id) FROM outbox").fetchone()[0] or 0
            written = execute_many(conn, encode.sql, rows, suffix=conflict, multirow=True)
            # SQLite has one writer (BEGIN IMMEDIATE): the rows above the old top are the ones
            # just written. Each new row takes the largest id plus one, so when every key went
            # in (all new, none twice) they are top+1 … top+n in order: checked at both ends
            n = len(rows)
            ends = (top + 1, top + n)
            if written == n == len(keys) and dict(
                cur.execute("SELECT id, idempotency_key FROM outbox WHERE id IN (?, ?)", ends)
            ) == {ends[0]: keys[0], ends[1]: keys[-1]}:
                ids.update(zip(keys, range(top + 1, top + n + 1), strict=True))
            else:  # one walk along the table instead of a key lookup a row
                cur.execute("SELECT idempotency_key, id FROM outbox WHERE id > ?", (top,))
                ids.update(cur.fetchall())
        keys = [k for k in keys if k not in ids]  # keys that were already there
    mark = param_marker(conn.dialect.name)
    with closing(conn.connection.driver_connection.cursor()) as cur:  # no row processing
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i : i + _CHUNK]
            marks = ", ".join([mark] * len(chunk))
            cur.execute(
                f"SELECT idempotency_key, id FROM outbox WHERE idempotency_key IN ({marks})", chunk
            )
            ids.update((k, int(v)) for k, v in cur.fetchall())
    return [ids[m.idempotency_key] for m in messages]


_INSERTS: dict[str, Any] = {}


def _insert_stmt(dialect_name: str) -> Any:
    """One statement per dialect, values bound at execute: SQLAlchemy compiles it once instead
    of building a cache key over ten literals per call (a third of a journey step's time)."""
    stmt = _INSERTS.get(dialect_name)
    if stmt is None:
        dialect = postgresql if dialect_name == "postgresql" else sqlite
        stmt = (
            dialect.insert(outbox)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(outbox.c.id)
        )
        _INSERTS[dialect_name] = stmt
    return stmt


@dataclass(frozen=True)
class Claimed:
    id: int
    idempotency_key: str
    channel: str
    destination: str
    subject: str | None
    payload: dict[str, Any]
    attempt: int  # this attempt's number (1-based)
    token: str


def new_token() -> str:
    return uuid.uuid4().hex


def claim(
    conn: Connection, *, now: datetime, limit: int, lease_s: float, token: str
) -> list[Claimed]:
    """Claim up to `limit` due deliveries for `lease_s` seconds; call inside a transaction."""
    due = (
        select(outbox.c.id)
        .where(
            outbox.c.status == "pending",
            outbox.c.next_attempt_at <= now,
            or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now),
        )
        .order_by(outbox.c.next_attempt_at, outbox.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    # Two statements on purpose: PostgreSQL may re-run an `IN (SELECT … LIMIT n FOR UPDATE SKIP
    # LOCKED)` subquery inside an UPDATE and claim more than n rows; ids first, then the UPDATE.
    ids = list(conn.execute(due).scalars())
    if not ids:
        return []
    rows = conn.execute(
        update(outbox)
        .where(
            outbox.c.id.in_(ids),
            # re-checked by the UPDATE itself: SQLite has no row locks (BEGIN IMMEDIATE serialises
            # writers), and PostgreSQL holds the row locks taken above until commit
            outbox.c.status == "pending",
            or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now),
        )
        .values(
            claimed_by=token,
            claimed_until=now + timedelta(seconds=lease_s),
            attempts=outbox.c.attempts + 1,
            updated_at=now,
        )
        .returning(
            outbox.c.id,
            outbox.c.idempotency_key,
            outbox.c.channel,
            outbox.c.destination,
            outbox.c.subject,
            outbox.c.payload,
            outbox.c.attempts,
        )
    ).all()
    return sorted(
        (
            Claimed(
                r.id,
                r.idempotency_key,
                r.channel,
                r.destination,
                r.subject,
                r.payload,
                r.attempts,
                token,
            )
            for r in rows
        ),
        key=lambda c: c.id,
    )


@dataclass(frozen=True)
class Outcome:
    claimed: Claimed
    result: SendResult
    decision: Decision
    started_at: datetime
    duration_ms: float


def record(conn: Connection, outcomes: Sequence[Outcome], *, worker: str, now: datetime) -> int:
    """Store results and the attempt log; returns how many rows this worker still held.

    Success is recorded whoever holds the row now (it was delivered); a failure only if our claim
    is still the current one, so a slow worker cannot overwrite the row another worker took over.
    """
    held = 0
    delivered = [o.claimed.id for o in outcomes if o.decision.status == "delivered"]
    if delivered:
        held += conn.execute(
            update(outbox)
            # also over a dead letter another worker made of it after taking over our lease:
            # the receiver has it, which is what matters
            .where(outbox.c.id.in_(delivered), outbox.c.status != "delivered")
            .values(
                status="delivered",
                delivered_at=now,
                claimed_by=None,
                claimed_until=None,
                last_error=None,
                updated_at=now,
            )
        ).rowcount
    failed = [o for o in outcomes if o.decision.status != "delivered"]
    if failed:
        # one statement, many parameter sets: a round trip per tick instead of per row
        held += conn.execute(
            update(outbox)
            .where(outbox.c.id == bindparam("b_id"), outbox.c.claimed_by == bindparam("b_token"))
            .values(
                status=bindparam("b_status"),
                next_attempt_at=func.coalesce(
                    bindparam("b_next", type_=TS), outbox.c.next_attempt_at
                ),
                claimed_by=None,
                claimed_until=None,
                last_error=bindparam("b_error"),
                updated_at=now,
            ),
            [
                dict(
                    b_id=o.claimed.id,
                    b_token=o.claimed.token,
                    b_status=o.decision.status,
                    b_next=o.decision.next_attempt_at,
                    b_error=o.result.error,
                )
                for o in failed
            ],
        ).rowcount
    if outcomes:
        conn.execute(
            outbox_attempts.insert(),
            [
                dict(
                    outbox_id=o.claimed.id,
                    attempt=o.claimed.attempt,
                    worker=worker,
                    started_at=o.started_at,
                    duration_ms=round(o.duration_ms, 3),
                    status_code=o.result.status_code,
                    outcome=o.decision.outcome,
                    error=o.result.error,
                )
                for o in outcomes
            ],
        )
    return held


# --- operator actions ------------------------------------------------------------------------------
def list_deliveries(
    conn: Connection, *, status: str = "all", limit: int = 50
) -> list[dict[str, Any]]:
    q = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if status != "all":
        if status not in STATUSES:
            raise MarketopsError(
                f"unknown status {status!r}", [Problem("--status", f"use one of {STATUSES} or all")]
            )
        q = q.where(outbox.c.status == status)
    return [dict(r._mapping) for r in conn.execute(q)]


def get_delivery(conn: Connection, delivery_id: int) -> dict[str, Any]:
    row = conn.execute(select(outbox).where(outbox.c.id == delivery_id)).first()
    if row is None:
        raise NotFound(f"no delivery {delivery_id} in the outbox")
    out = dict(row._mapping)
    out["attempt_log"] = [
        dict(r._mapping)
        for r in conn.execute(
            select(outbox_attempts)
            .where(outbox_attempts.c.outbox_id == delivery_id)
            .order_by(outbox_attempts.c.id)
        )
    ]
    return out


def counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)).all()
    return {s: 0 for s in STATUSES} | {s: int(n) for s, n in rows}


def retry_now(conn: Connection, ids: Sequence[int] | None, *, now: datetime) -> int:
    """Make pending deliveries waiting for a backoff due now (`ids` None: all of them)."""
    cond = outbox.c.status == "pending"
    if ids is not None:
        _require(conn, ids)
        cond = and_(cond, outbox.c.id.in_(ids))
    return conn.execute(
        update(outbox)
        .where(cond, or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now))
        .values(next_attempt_at=now, updated_at=now)
    ).rowcount


def replay(conn: Connection, ids: Sequence[int] | None, *, now: datetime) -> int:
    """Send dead letters again from attempt 1 (`ids` None: every dead letter); the log is kept."""
    cond = outbox.c.status == "dead"
    if ids is not None:
        _require(conn, ids)
        cond = and_(cond, outbox.c.id.in_(ids))
    return conn.execute(
        update(outbox)
        .where(cond)
        .values(
            status="pending",
            attempts=0,
            next_attempt_at=now,
            claimed_by=None,
            claimed_until=None,
            updated_at=now,
        )
    ).rowcount


def _require(conn: Connection, ids: Sequence[int]) -> None:
    found = set(conn.execute(select(outbox.c.id).where(outbox.c.id.in_(ids))).scalars())
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(
            f"no such deliveries: {missing}",
            [Problem(str(i), "not in the outbox", "see `marketops outbox list`") for i in missing],
        )
