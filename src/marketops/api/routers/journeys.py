"""Journey routes: list, show, status, pause/resume/stop (admin), API events (ingest)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from marketops.api.deps import get_ctx, require_scope
from marketops.services.context import AppContext

router = APIRouter(prefix="/v1", tags=["journeys"])


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lead_id: str = Field(description="the lead it happened to")
    event: str = Field(
        description="event name (an entry trigger or a `wait: {event: …}`)", examples=["signup"]
    )
    payload: dict[str, Any] = Field(default_factory=dict)


class StateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = None


def _json(obj: object, status: int = 200) -> JSONResponse:
    return JSONResponse(json.loads(json.dumps(obj, default=str)), status_code=status)


@router.get("/journeys", summary="Every journey: state, version, entry trigger, people inside")
def get_journeys(
    ctx: AppContext = Depends(get_ctx), _key: str = Depends(require_scope("read"))
) -> JSONResponse:
    from marketops.journeys.service import list_journeys

    return _json(list_journeys(ctx))


@router.get("/journeys/{name}", summary="A journey's definition and published versions")
def get_journey(
    name: str, ctx: AppContext = Depends(get_ctx), _key: str = Depends(require_scope("read"))
) -> JSONResponse:
    from marketops.journeys.service import show

    return _json(show(ctx, name))


@router.get("/journeys/{name}/status", summary="People by status and step, step outcomes, goals")
def get_status(
    name: str, ctx: AppContext = Depends(get_ctx), _key: str = Depends(require_scope("read"))
) -> JSONResponse:
    from marketops.journeys.service import status

    return _json(status(ctx, name))


def _state_route(action: str):  # type: ignore[no-untyped-def]
    def route(
        name: str,
        body: StateIn | None = None,
        ctx: AppContext = Depends(get_ctx),
        _key: str = Depends(require_scope("admin")),
    ) -> JSONResponse:
        from marketops.journeys import service

        now = datetime.now(UTC)
        if action == "resume":
            return _json(service.resume(ctx, name, now=now))
        return _json(
            getattr(service, action)(ctx, name, now=now, reason=body.reason if body else None)
        )

    return route


for _action in ("pause", "resume", "stop"):
    router.post(f"/journeys/{{name}}/{_action}", summary=f"{_action.capitalize()} a journey")(
        _state_route(_action)
    )


@router.post(
    "/journeys/{name}/events",
    status_code=201,
    summary="An event for a journey: enters people (event trigger) or ends an event wait",
    responses={200: {"description": "replay of an earlier request with the same Idempotency-Key"}},
)
def post_event(
    name: str,
    body: EventIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=150),
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("ingest")),
) -> JSONResponse:
    from marketops.journeys.service import post_event as post

    out = post(
        ctx,
        name,
        lead_id=body.lead_id,
        event=body.event,
        now=datetime.now(UTC),
        key=idempotency_key,
        payload=body.payload,
    )
    return _json(out, 200 if out["replayed"] else 201)
