"""Lead capture and lookup."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from marketops.api.deps import get_ctx, require_scope
from marketops.services import leads as svc
from marketops.services.context import AppContext

router = APIRouter(prefix="/v1", tags=["leads"])

# Captures in flight at once on PostgreSQL, per server process. Past a few, threads only queue on
# the round-robin cursor's row lock while starving its holder of the GIL (measured: 30-250 ms
# lock waits at 200 req/s with the thread pool's 40); see docs/pipeline.md.
CAPTURE_SLOTS = asyncio.Semaphore(int(os.environ.get("MARKETOPS_CAPTURE_CONCURRENCY", "2")))


def _json(body: Any, status: int = 200) -> Response:
    """orjson, with str() for datetimes/decimals: one serialisation instead of two."""
    return Response(
        orjson.dumps(body, default=str, option=orjson.OPT_NON_STR_KEYS),
        status_code=status,
        media_type="application/json",
    )


_EXAMPLE = {
    "email": "Jane.Doe@Example.com ",
    "first_name": "jane",
    "last_name": "doe",
    "company": "Example Inc.",
    "title": "VP Marketing",
    "country": "United States",
    "phone": "(415) 555-0100",
    "employees": 1200,
    "activity": "demo_request",
    "message": "Looking for pricing and a demo",
}


@router.post(
    "/leads",
    summary="Capture a lead (validate, normalize, enrich, dedupe, suppress, score, route)",
    responses={
        200: {"description": "existing person updated"},
        201: {"description": "new lead created"},
        409: {"description": "Idempotency-Key reused with a different body"},
        422: {"description": "rejected by the data contract; kept in quarantine"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "additionalProperties": True,
                        "description": "fields of the workspace's lead data contract",
                    },
                    "example": _EXAMPLE,
                }
            },
        }
    },
)
async def post_lead(
    request: Request,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=200),
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("ingest")),
) -> JSONResponse:
    body = await request.body()
    now = datetime.now(UTC)
    try:
        payload: Any = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        qid = svc.quarantine_unparsable(ctx, body, f"body is not valid JSON: {exc}", now)
        return JSONResponse(
            {
                "detail": "body is not valid JSON",
                "quarantine_id": qid,
                "errors": [{"field": "(body)", "rule": "json", "message": str(exc)}],
            },
            status_code=422,
        )
    if not isinstance(payload, dict):
        qid = svc.quarantine_unparsable(ctx, body, "body must be a JSON object", now)
        return JSONResponse(
            {
                "detail": "body must be a JSON object",
                "quarantine_id": qid,
                "errors": [
                    {
                        "field": "(body)",
                        "rule": "type",
                        "message": "expected an object of lead fields",
                    }
                ],
            },
            status_code=422,
        )
    if ctx.engine.dialect.name == "sqlite":
        # one writer at a time anyway: running inline avoids threads spinning on the lock
        status, out = svc.capture_one(ctx, payload, now, idempotency_key)
    else:
        async with CAPTURE_SLOTS:
            status, out = await run_in_threadpool(
                svc.capture_one, ctx, payload, now, idempotency_key
            )
    return _json(out, status)


@router.get("/leads/{lead_id}", summary="A lead with its activities and full history")
def get_lead(
    lead_id: str, ctx: AppContext = Depends(get_ctx), _key: str = Depends(require_scope("read"))
) -> JSONResponse:
    return _json(svc.get_lead(ctx, lead_id))
