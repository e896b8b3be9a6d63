"""`POST /v1/events`: Segment-compatible track / identify / page events, one or a batch.

Signed requests: when `MARKETOPS_EVENTS_SIGNING_SECRET` is set (comma-separated for rotation),
every request must carry `X-Marketops-Timestamp` and `X-Marketops-Signature` (see
`marketops.notify.signing`); otherwise 401.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from marketops.api.deps import get_ctx, require_scope
from marketops.services.context import AppContext

router = APIRouter(prefix="/v1", tags=["events"])
SECRET_ENV = "MARKETOPS_EVENTS_SIGNING_SECRET"


def _verify(request: Request, body: bytes, now: datetime) -> None:
    secrets = [s.strip() for s in os.environ.get(SECRET_ENV, "").split(",") if s.strip()]
    if not secrets:
        return
    from marketops.notify.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, check

    try:
        check(
            secrets,
            body,
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(SIGNATURE_HEADER),
            now=now,
        )
    except SignatureError as exc:
        raise HTTPException(401, f"bad signature: {exc}") from exc


@router.post(
    "/events",
    summary='Ingest Segment events (a single event or {"batch": [...]})',
    responses={422: {"description": "some events were invalid: kept as dead letters"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "description": "a Segment track/identify/page event, or "
                        '{"batch": [events]}; read raw so the signature covers the exact bytes',
                    },
                    "example": {
                        "type": "page",
                        "messageId": "m-1",
                        "anonymousId": "a-1",
                        "timestamp": "2026-10-01T10:00:00Z",
                        "properties": {
                            "url": "https://example.com/?utm_source=google&utm_medium=cpc"
                        },
                    },
                }
            },
        }
    },
)
async def post_events(
    request: Request,
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("ingest")),
) -> JSONResponse:
    from marketops.events.service import ingest

    now = datetime.now(UTC)
    body = await request.body()
    _verify(request, body, now)
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        data = {"_unparsed_body": body.decode("utf-8", "replace")[:100_000], "_error": str(exc)}
    if isinstance(data, dict) and isinstance(data.get("batch"), list):
        raws = data["batch"]
    else:
        raws = data if isinstance(data, list) else [data]
    result = await run_in_threadpool(ingest, ctx, raws, source="api", now=now)
    out = result.as_dict()
    if result.rejected:
        out["detail"] = f"{len(result.rejected)} event(s) invalid; kept as dead letters"
        return JSONResponse(out, status_code=422)
    return JSONResponse(out)


@router.get("/events/dead-letters", summary="Invalid events kept for fixing and replay")
def get_dead_letters(
    status: str = Query("open", pattern="^(open|replayed|discarded)$"),
    limit: int = Query(100, ge=1, le=1000),
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("read")),
) -> list[dict[str, Any]]:
    from marketops.events.service import dead_letters

    return dead_letters(ctx, status=status, limit=limit)


@router.post("/events/dead-letters/replay", summary="Re-ingest open dead letters")
def replay_dead_letters(
    ids: list[int] | None = Query(None, description="only these letters (default: all open)"),
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("admin")),
) -> dict[str, Any]:
    from marketops.events.service import replay

    return replay(ctx, datetime.now(UTC), ids=ids).as_dict()
