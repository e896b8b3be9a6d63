"""Segments and static lists over HTTP: counts, paged members, preview, list edits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from marketops.api.deps import get_ctx, require_scope
from marketops.segments import service
from marketops.services.context import AppContext

router = APIRouter(prefix="/v1", tags=["segments"])


def _json(body: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(body, default=str, option=orjson.OPT_NON_STR_KEYS),
        status_code=status,
        media_type="application/json",
    )


class ListEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lead_ids: list[str] = Field(default_factory=list, max_length=10_000)
    emails: list[str] = Field(default_factory=list, max_length=10_000)


@router.get("/segments", dependencies=[Depends(require_scope("read"))])
async def get_segments(ctx: AppContext = Depends(get_ctx)) -> Response:
    """Every segment and list with its stored member count and suppression flag."""
    return _json(await run_in_threadpool(service.list_segments, ctx))


@router.get("/segments/{name}", dependencies=[Depends(require_scope("read"))])
async def get_segment(name: str, ctx: AppContext = Depends(get_ctx)) -> Response:
    """A segment's definition and stored member count."""
    return _json(await run_in_threadpool(service.show, ctx, name))


@router.get("/segments/{name}/members", dependencies=[Depends(require_scope("read"))])
async def get_members(
    name: str,
    ctx: AppContext = Depends(get_ctx),
    after: str | None = Query(None, description="the `next` of the previous page"),
    limit: int = Query(100, ge=1, le=1000),
) -> Response:
    """Stored members ordered by lead id; pass `next` as `after` for the following page."""
    return _json(await run_in_threadpool(service.members_page, ctx, name, after=after, limit=limit))


@router.post("/segments/{name}/preview", dependencies=[Depends(require_scope("read"))])
async def post_preview(
    name: str,
    ctx: AppContext = Depends(get_ctx),
    body: dict[str, Any] | None = Body(
        None, description="optional: {rule: …} to try before saving"
    ),
    sample: int = Query(10, ge=0, le=1000),
) -> Response:
    """Evaluate a segment now: count and a sample. With a body, evaluates that definition
    (named `name`) instead of the saved one, so a segment can be tried before it is saved."""

    def run() -> dict[str, Any]:
        if body:
            definition = service.parse_definition(
                {**body, "name": name}, "body", service.config(ctx)
            )
        else:
            definition = service.find(ctx, name)
        return service.preview(ctx, definition, datetime.now(UTC), sample)

    return _json(await run_in_threadpool(run))


@router.post("/lists/{name}/members", dependencies=[Depends(require_scope("ingest"))])
async def post_list_members(
    name: str, edit: ListEdit, ctx: AppContext = Depends(get_ctx)
) -> Response:
    """Add leads (by id or email) to a static list; unknown ones are returned, not added."""
    return _json(
        await run_in_threadpool(
            service.edit_list, ctx, name, edit.lead_ids, edit.emails, datetime.now(UTC), add=True
        )
    )


@router.delete("/lists/{name}/members", dependencies=[Depends(require_scope("ingest"))])
async def delete_list_members(
    name: str, edit: ListEdit, ctx: AppContext = Depends(get_ctx)
) -> Response:
    """Remove leads (by id or email) from a static list."""
    return _json(
        await run_in_threadpool(
            service.edit_list, ctx, name, edit.lead_ids, edit.emails, datetime.now(UTC), add=False
        )
    )
