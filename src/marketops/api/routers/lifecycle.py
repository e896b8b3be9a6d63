"""Lifecycle and routing routes: move a lead, record a sales touch, history, why this owner."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Depends, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from marketops.api.deps import get_ctx, require_scope
from marketops.services.context import AppContext

router = APIRouter(prefix="/v1", tags=["lifecycle"])


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str = Field(description="target stage (lifecycle.yml)", examples=["SAL"])
    actor: str = Field(description="who moves the lead", examples=["carla.ae"])
    reason: str | None = Field(None, description="required when moving backward (recycle)")


class ActivityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["call", "email", "meeting"]
    actor: str = Field(description="who made the touch", examples=["ava.sdr"])
    occurred_at: datetime | None = Field(None, description="when (default: now); with a zone")
    notes: str | None = None


def _json(obj: object, status: int = 200) -> JSONResponse:
    return JSONResponse(json.loads(json.dumps(obj, default=str)), status_code=status)


async def _run(ctx: AppContext, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    if ctx.engine.dialect.name == "sqlite":  # one writer anyway: inline avoids lock spinning
        return fn(*args, **kwargs)
    return await run_in_threadpool(fn, *args, **kwargs)


@router.post(
    "/leads/{lead_id}/transitions",
    status_code=201,
    summary="Move a lead to another lifecycle stage (refused with 422 when not allowed)",
    responses={404: {"description": "no such lead"}, 422: {"description": "move not allowed"}},
)
async def post_transition(
    lead_id: str,
    body: TransitionIn,
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("ingest")),
) -> JSONResponse:
    from marketops.lifecycle.service import move_lead

    out = await _run(
        ctx,
        move_lead,
        ctx,
        lead_id,
        body.to,
        actor=body.actor,
        reason=body.reason,
        now=datetime.now(UTC),
    )
    return _json(out, 201)


@router.post(
    "/leads/{lead_id}/activities",
    status_code=201,
    summary="Record a sales touch (call, email, meeting); stops first-contact SLA clocks",
    responses={200: {"description": "replay of an earlier request with the same Idempotency-Key"}},
)
async def post_activity(
    lead_id: str,
    body: ActivityIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=190),
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("ingest")),
) -> JSONResponse:
    from marketops.lifecycle.service import record_activity

    out = await _run(
        ctx,
        record_activity,
        ctx,
        lead_id,
        body.type,
        actor=body.actor,
        now=datetime.now(UTC),
        occurred_at=body.occurred_at,
        notes=body.notes,
        ref=idempotency_key,
    )
    return _json(out, 200 if out["replayed"] else 201)


@router.get("/leads/{lead_id}/history", summary="Stage history, time in stage and SLA timers")
def get_history(
    lead_id: str, ctx: AppContext = Depends(get_ctx), _key: str = Depends(require_scope("read"))
) -> JSONResponse:
    from marketops.lifecycle.service import history

    return _json(history(ctx, lead_id, datetime.now(UTC)))


@router.get("/leads/{lead_id}/why", summary="Why this owner: every routing decision, explained")
def get_why(
    lead_id: str, ctx: AppContext = Depends(get_ctx), _key: str = Depends(require_scope("read"))
) -> JSONResponse:
    from marketops.routing.service import why

    return _json(why(ctx, lead_id))
