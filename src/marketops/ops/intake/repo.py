"""Row-level reads and writes of requests, shared by the intake and launch services.

Moves are conditional UPDATEs (`WHERE state = <the state we read>`), so two people moving the
same request at once cannot both win: the loser gets a Conflict and re-reads.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, select, update

from marketops.errors import Conflict, NotFound, Problem
from marketops.ops.intake.states import CLOSED_STATES, LIVE, PAUSE_STATES
from marketops.store.tables_intake import intake_request_events, intake_requests


def load_request(conn: Connection, request_id: int) -> dict[str, Any]:
    row = (
        conn.execute(select(intake_requests).where(intake_requests.c.id == request_id))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(
            f"request {request_id} not found",
            [Problem("id", f"no request {request_id}", "see `marketops request list`")],
        )
    return dict(row)


def load_moves(conn: Connection, request_ids: list[int] | None = None) -> dict[int, list[tuple]]:
    """(at, from_state, to_state) per request, in the order they happened."""
    ev = intake_request_events
    query = select(ev.c.request_id, ev.c.at, ev.c.from_state, ev.c.to_state).order_by(
        ev.c.request_id, ev.c.at, ev.c.id
    )
    if request_ids is not None:
        query = query.where(ev.c.request_id.in_(request_ids))
    out: dict[int, list[tuple]] = {}
    for rid, at, before, after in conn.execute(query):
        out.setdefault(rid, []).append((at, before, after))
    return out


def apply_move(
    conn: Connection,
    request: dict[str, Any],
    to: str,
    *,
    actor: str,
    now: dt.datetime,
    note: str | None = None,
    notify: Any | None = None,
) -> dict[str, Any]:
    """Write the move (state, pause bookkeeping, live/closed times), its event row and, with the
    catalog's `notify` settings, its notifications (to the outbox, in the same transaction)."""
    before = request["state"]
    values: dict[str, Any] = {"state": to, "updated_at": now}
    if to in PAUSE_STATES:
        if before not in PAUSE_STATES:
            values["paused_from"] = before
    else:
        values["paused_from"] = None
    if to == LIVE and request["live_at"] is None:
        values["live_at"] = now
    values["closed_at"] = now if to in CLOSED_STATES else None
    result = conn.execute(
        update(intake_requests)
        .where(intake_requests.c.id == request["id"], intake_requests.c.state == before)
        .values(**values)
    )
    if result.rowcount != 1:
        raise Conflict(
            f"request {request['id']} was changed meanwhile",
            [Problem("state", f"no longer {before!r}", "show the request again and retry")],
        )
    event_id = conn.execute(
        intake_request_events.insert()
        .values(
            request_id=request["id"],
            at=now,
            from_state=before,
            to_state=to,
            actor=actor,
            note=note,
        )
        .returning(intake_request_events.c.id)
    ).scalar_one()
    if notify is not None:
        from marketops.ops.intake.notify import enqueue_all, move_messages

        enqueue_all(conn, move_messages(notify, request, before, to, note, now, event_id), now)
    return {**request, **values}
