"""Assignment notifications: one outbox message to the new owner, in the assignment's
transaction, keyed so a retried transaction never sends twice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection


def assignment_notice(
    conn: Connection, lead_id: str, data: dict[str, Any], channel: str, now: datetime
) -> int:
    from marketops.notify.outbox import enqueue

    owner = data["owner"]
    payload = {
        "event": "lead.assigned",
        "lead_id": lead_id,
        "owner": owner,
        "previous_owner": data.get("previous_owner"),
        "queue": data.get("queue"),
        "rule": data.get("rule"),
        "reasons": data.get("reasons", []),
        "assigned_at": now.isoformat(),
        "text": f"Lead {lead_id} is yours (rule {data.get('rule')},"
        f" queue {data.get('queue') or '-'}). `marketops lead why {lead_id}` says why.",
    }
    return enqueue(
        conn,
        channel=channel,
        destination=f"owner:{owner}",
        payload=payload,
        idempotency_key=f"assigned:{lead_id}:{owner}:{now.isoformat()}",
        now=now,
        subject=f"New lead assigned: {lead_id}",
    )
