"""Single-lead use cases behind `POST /v1/leads` and `GET /v1/leads/{id}`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from marketops.errors import Conflict
from marketops.pipeline.runner import Outcome
from marketops.services.capture import Batch, capture
from marketops.services.context import AppContext
from marketops.store import leads_repo
from marketops.store.schema import idempotency_keys, quarantine


def response_of(o: Outcome, quarantine_id: int | None = None) -> tuple[int, dict[str, Any]]:
    if o.status == "quarantined":
        return 422, {
            "detail": "lead rejected by the data contract; it is kept in quarantine",
            "quarantine_id": quarantine_id,
            "errors": [i.as_dict() for i in o.issues if i.severity == "error"],
        }
    assert o.score is not None and o.lead is not None
    a = o.assignment
    return (201 if o.status == "accepted" else 200), {
        "id": o.lead_id,
        "status": "created" if o.status == "accepted" else "updated",
        "lifecycle_stage": o.stage,
        "scores": {"fit": o.score.fit, "engagement": o.score.engagement, "total": o.score.total},
        "suppressed": o.suppressed,
        "assignment": {
            "queue": o.queue,
            "owner": o.owner,
            "rule": a.rule if a else None,
            "changed": a is not None,
        },
        "warnings": o.lead.warnings,
    }


def _hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _stored(ctx: AppContext, key: str, digest: str) -> tuple[int, dict[str, Any]] | None:
    with ctx.engine.connect() as conn:
        row = conn.execute(select(idempotency_keys).where(idempotency_keys.c.key == key)).first()
    if row is None:
        return None
    if row.request_hash != digest:
        raise Conflict(
            f"Idempotency-Key {key!r} was already used with a different request body;"
            " use a new key for a new request"
        )
    return row.status_code, row.response


def capture_one(
    ctx: AppContext, payload: Mapping[str, Any], now: datetime, idempotency_key: str | None = None
) -> tuple[int, dict[str, Any]]:
    """Run one lead through the pipeline; replays the first answer for a repeated key."""
    digest = _hash(payload)
    if idempotency_key:
        hit = _stored(ctx, idempotency_key, digest)
        if hit:
            return hit
    result: dict[str, Any] = {}

    def write_extra(conn: Any, outcomes: list[Outcome]) -> None:
        status, body = response_of(outcomes[0], outcomes[0].quarantine_id)
        result.update(status=status, body=body)
        if idempotency_key:
            conn.execute(
                insert(idempotency_keys).values(
                    key=idempotency_key,
                    request_hash=digest,
                    status_code=status,
                    response=body,
                    created_at=now,
                )
            )

    ref = f"api:{idempotency_key}" if idempotency_key else None
    try:
        capture(ctx, Batch([payload], "api", [ref], [None]), now, extra_writes=write_extra)
    except IntegrityError:
        if idempotency_key and (hit := _stored(ctx, idempotency_key, digest)):
            return hit  # a concurrent request with the same key won the race
        raise
    return result["status"], result["body"]


def quarantine_unparsable(ctx: AppContext, body: bytes, reason: str, now: datetime) -> int:
    """A request that is not even a JSON object is still kept, as text, for inspection."""
    text = body.decode("utf-8", errors="replace")
    with ctx.engine.begin() as conn:
        return conn.execute(
            insert(quarantine)
            .values(
                source="api",
                source_ref=None,
                row_number=None,
                payload={"_raw": text},
                errors=[
                    {
                        "field": "(body)",
                        "rule": "json",
                        "value": None,
                        "message": reason,
                        "severity": "error",
                    }
                ],
                status="open",
                created_at=now,
            )
            .returning(quarantine.c.id)
        ).scalar_one()


def get_lead(ctx: AppContext, lead_id: str) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        return leads_repo.lead_with_history(conn, lead_id)
