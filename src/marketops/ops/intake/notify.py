"""Notifications about requests, written to the outbox in the same transaction as the change.

What to send is decided by a pure function from the catalog's `notify` settings; `enqueue_all`
hands the messages to `marketops.notify.outbox.enqueue_many`, whose idempotency keys make a replayed
move or a second worker harmless. The requester is emailed only when the requester field is an
email address; the message names the request and the state, never the requester (PII).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection

from marketops.notify.outbox import Message, enqueue_many


def _is_email(value: str) -> bool:
    local, at, domain = value.partition("@")
    return bool(local and at and "." in domain and " " not in value)


def move_messages(
    settings: Any,
    request: dict[str, Any],
    before: str | None,
    to: str,
    note: str | None,
    at: dt.datetime,
    event_id: int,
) -> list[Message]:
    """Messages for one move (`before` None = the request was just created)."""
    event = "created" if before is None else to
    rid = request["id"]
    payload = {
        "event": f"request.{event}",
        "request_id": rid,
        "title": request["title"],
        "type": request["type"],
        "class": request["class"],
        "from": before,
        "to": to,
        "note": note,
        "at": at.isoformat(),
    }
    subject = (
        f"Request #{rid} filed: {request['title']}"
        if before is None
        else f"Request #{rid} is now {to.replace('_', ' ')}: {request['title']}"
    )
    out = []
    if before is not None and to in settings.requester and _is_email(request["requester"]):
        out.append(
            Message(
                channel="email",
                destination=request["requester"],
                subject=subject,
                payload=payload,
                idempotency_key=f"intake:req:{rid}:ev:{event_id}:requester",
            )
        )
    team = settings.team
    if team is not None and event in team.when:
        out.append(
            Message(
                channel=team.channel,
                destination=team.destination,
                subject=subject,
                payload=payload,
                idempotency_key=f"intake:req:{rid}:ev:{event_id}:team",
            )
        )
    return out


def breach_message(settings: Any, request: dict[str, Any], goal: str, cycle: Any) -> Message | None:
    team = settings.team
    if team is None or not team.sla_breach:
        return None
    rid = request["id"]
    return Message(
        channel=team.channel,
        destination=team.destination,
        subject=f"SLA breached: request #{rid} {goal}: {request['title']}",
        payload={
            "event": "request.sla_breached",
            "request_id": rid,
            "title": request["title"],
            "class": request["class"],
            "state": request["state"],
            "goal": goal,
            "cycle": cycle.index,
            "breach_at": cycle.breach_at.isoformat() if cycle.breach_at else None,
        },
        idempotency_key=f"intake:req:{rid}:sla:{goal}:{cycle.index}",
    )


def enqueue_all(conn: Connection, messages: Iterable[Message], now: dt.datetime) -> int:
    items = list(messages)
    enqueue_many(conn, items, now=now)
    return len(items)
