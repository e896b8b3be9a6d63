"""Identity resolution over HTTP: identities with their golden record, reports, resolve, undo."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from marketops.api.deps import get_ctx, require_scope
from marketops.identity import service
from marketops.services.context import AppContext

router = APIRouter(prefix="/v1", tags=["identity"])


def _json(body: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(body, default=str, option=orjson.OPT_NON_STR_KEYS),
        status_code=status,
        media_type="application/json",
    )


@router.get("/identities/{ident}", dependencies=[Depends(require_scope("read"))])
async def get_identity(ident: str, ctx: AppContext = Depends(get_ctx)) -> Response:
    """An identity by its id or a member lead's id: golden record with the member each value
    came from, members with their match probability and method, and its merges."""
    return _json(await run_in_threadpool(service.show, ctx, ident))


@router.get("/identity/report", dependencies=[Depends(require_scope("read"))])
async def get_report(
    ctx: AppContext = Depends(get_ctx),
    threshold: float | None = Query(None, gt=0, lt=1, description="default: identity.yml's"),
) -> Response:
    """Duplicates per 1,000 records and the share of identities whose links meet the threshold."""
    return _json(await run_in_threadpool(service.report, ctx, threshold))


@router.post("/identity/resolve", dependencies=[Depends(require_scope("admin"))])
async def post_resolve(
    ctx: AppContext = Depends(get_ctx),
    train: bool = Query(True, description="false: reuse the last trained model"),
) -> Response:
    """Re-cluster every lead in the store (batch: exact rules, then Splink)."""
    stats = await run_in_threadpool(service.resolve_store, ctx, datetime.now(UTC), train=train)
    return _json(stats)


@router.post("/identity/merges/{merge_id}/undo", dependencies=[Depends(require_scope("admin"))])
async def post_unmerge(merge_id: int, ctx: AppContext = Depends(get_ctx)) -> Response:
    """Undo a recorded merge; its records go back to the identities they came from."""
    out = await run_in_threadpool(service.unmerge, ctx, merge_id, datetime.now(UTC), actor="api")
    return _json(out)
