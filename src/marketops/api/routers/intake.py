"""Request intake and launches over HTTP, plus the server-rendered request form.

/v1/requests (create: ingest scope; read: read; moves: admin), /v1/launches (read / admin),
/v1/intake/metrics (read). GET/POST /requests/new is the marketers' web form (CSRF-protected).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from marketops.api.deps import get_ctx, require_scope
from marketops.services.context import AppContext

v1 = APIRouter(prefix="/v1", tags=["intake"])
form_router = APIRouter(tags=["intake"], include_in_schema=False)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class RequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="request type key from catalog.yml")
    title: str = Field(max_length=300)
    requester: str = Field(max_length=320, description="email or name of the requester")
    description: str = ""
    inputs: dict[str, Any] = {}
    priority: dict[str, float] = Field({}, description="priority inputs, e.g. impact, urgency")
    template: str | None = None
    self_serve: bool | None = None


class MoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str = Field(description="the new state; `resume` returns a paused request to its state")
    note: str | None = None
    override_reason: str | None = Field(None, description="launch inside a freeze (audited)")
    launch_at: dt.datetime | None = Field(None, description="scheduled: a fixed launch time")


class LaunchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, description="default: the request's title")
    request_id: int | None = None
    duration_minutes: float = Field(30, ge=0)
    after: dt.datetime | None = None
    train: str | None = None
    at: dt.datetime | None = Field(None, description="a fixed time instead of the next train")
    override_reason: str | None = None
    assets: list[AssetIn] = []


class AssetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=300)
    html: str | None = None
    eml: str | None = None
    page: bool = False


LaunchIn.model_rebuild()


class ShipIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    override_reason: str | None = None


def _aware(value: dt.datetime | None, where: str) -> dt.datetime | None:
    from marketops.errors import MarketopsError, Problem

    if value is not None and value.utcoffset() is None:
        raise MarketopsError(f"{where} needs a UTC offset", [Problem(where, "naive date-time")])
    return value


def _asset(a: AssetIn) -> tuple[str, str, str, bool]:
    from marketops.errors import MarketopsError, Problem

    if (a.html is None) == (a.eml is None):
        raise MarketopsError(
            f"asset {a.name}: send exactly one of html or eml", [Problem("assets", a.name)]
        )
    return (a.name, a.html or a.eml or "", "html" if a.html is not None else "eml", a.page)


@v1.post("/requests", status_code=201)
def create(
    body: RequestIn,
    response: Response,
    ctx: AppContext = Depends(get_ctx),
    key: str = Depends(require_scope("ingest")),
    idempotency_key: str | None = Header(None, max_length=200),
) -> dict[str, Any]:
    """File a request; an `Idempotency-Key` makes retries safe (200 with the first request)."""
    from marketops.ops.intake.requests import NewRequest
    from marketops.ops.intake.service import create_request

    new = NewRequest(channel="api", **body.model_dump())
    out, created = create_request(
        ctx, new, now=_now(), actor=f"key:{key}", idempotency_key=idempotency_key
    )
    if not created:
        response.status_code = 200
    return out


@v1.get("/requests")
def list_(
    state: str | None = None,
    class_: str | None = Query(None, alias="class"),
    open_only: bool = Query(False, alias="open"),
    limit: int = Query(200, ge=1, le=1000),
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("read")),
) -> list[dict[str, Any]]:
    """Requests by priority, highest first."""
    from marketops.ops.intake.service import list_requests

    return list_requests(ctx, state=state, class_=class_, open_only=open_only, limit=limit)


@v1.get("/requests/{request_id}")
def get(
    request_id: int,
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("read")),
) -> dict[str, Any]:
    """A request with its SLA clocks (as of now), history, launches and allowed next states."""
    from marketops.ops.intake.service import request_view

    return request_view(ctx, request_id, now=_now())


@v1.post("/requests/{request_id}/transitions")
def transition(
    request_id: int,
    body: MoveIn,
    ctx: AppContext = Depends(get_ctx),
    key: str = Depends(require_scope("admin")),
) -> dict[str, Any]:
    """Move a request. 409 when the move is not allowed or a launch is refused (freeze without
    override, pre-flight blockers, full train)."""
    from marketops.ops.intake.service import move_request, resume_request

    if body.to == "resume":
        return resume_request(ctx, request_id, actor=f"key:{key}", now=_now(), note=body.note)
    return move_request(
        ctx,
        request_id,
        body.to,
        actor=f"key:{key}",
        now=_now(),
        note=body.note,
        override_reason=body.override_reason,
        launch_at=_aware(body.launch_at, "launch_at"),
    )


@v1.get("/intake/metrics")
def metrics(
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    experiment_shared_cost: Decimal = Decimal("0"),
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("read")),
) -> dict[str, Any]:
    """MOPS KPIs for [since, until) (default: the last 90 days)."""
    from marketops.ops.intake.service import intake_metrics

    return intake_metrics(
        ctx,
        now=_now(),
        since=_aware(since, "since"),
        until=_aware(until, "until"),
        shared_experiment_cost=experiment_shared_cost,
    ).to_dict()


@v1.post("/launches", status_code=201)
def schedule(
    body: LaunchIn,
    ctx: AppContext = Depends(get_ctx),
    key: str = Depends(require_scope("admin")),
) -> dict[str, Any]:
    """Book a launch on the next train with room (or at `at`); 409 when refused."""
    from marketops.errors import MarketopsError, Problem
    from marketops.ops.intake.repo import load_request
    from marketops.ops.launches import NewLaunch
    from marketops.ops.launches.usecases import schedule_launch

    name = body.name
    if name is None and body.request_id is not None:
        with ctx.engine.connect() as conn:
            name = load_request(conn, body.request_id)["title"]
    if not name:
        raise MarketopsError("a launch needs a name or a request_id", [Problem("name", "missing")])
    new = NewLaunch(
        name=name,
        request_id=body.request_id,
        duration=dt.timedelta(minutes=body.duration_minutes),
        after=_aware(body.after, "after"),
        train=body.train,
        at=_aware(body.at, "at"),
        override_reason=body.override_reason,
    )
    return schedule_launch(
        ctx, new, actor=f"key:{key}", now=_now(), assets=[_asset(a) for a in body.assets]
    )


@v1.get("/launches")
def launches(
    state: str | None = None,
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("read")),
) -> list[dict[str, Any]]:
    from marketops.ops.launches.usecases import list_launches

    return list_launches(ctx, state=state)


@v1.get("/launches/{launch_id}")
def launch(
    launch_id: int,
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("read")),
) -> dict[str, Any]:
    """A launch with its assets, their latest pre-flight, the freeze verdict and audit trail."""
    from marketops.ops.launches.usecases import launch_view

    return launch_view(ctx, launch_id)


@v1.post("/launches/{launch_id}/assets")
def add_asset(
    launch_id: int,
    body: AssetIn,
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("admin")),
) -> dict[str, Any]:
    """Attach or replace (by name) an email or page; its next pre-flight decides shipping."""
    from marketops.ops.launches.usecases import add_asset as add

    name, content, kind, page = _asset(body)
    return add(ctx, launch_id, name=name, content=content, kind=kind, page=page, now=_now())


@v1.post("/launches/{launch_id}/check")
def check(
    launch_id: int,
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("read")),
) -> dict[str, Any]:
    """Pre-flight every asset (links checked for syntax only) and keep the reports."""
    from marketops.ops.launches.usecases import check_launch

    return check_launch(ctx, launch_id, now=_now(), online=False)


@v1.post("/launches/{launch_id}/ship")
def ship(
    launch_id: int,
    body: ShipIn,
    ctx: AppContext = Depends(get_ctx),
    key: str = Depends(require_scope("admin")),
) -> dict[str, Any]:
    """Go live; 409 with every blocker when pre-flight or a freeze refuses it."""
    from marketops.ops.launches.usecases import ship_launch

    return ship_launch(
        ctx, launch_id, actor=f"key:{key}", now=_now(), override_reason=body.override_reason
    )


@v1.post("/launches/{launch_id}/cancel")
def cancel(
    launch_id: int,
    ctx: AppContext = Depends(get_ctx),
    key: str = Depends(require_scope("admin")),
) -> dict[str, Any]:
    """Take a scheduled launch off its train; its request goes back to qa."""
    from marketops.ops.launches.usecases import cancel_launch

    return cancel_launch(ctx, launch_id, actor=f"key:{key}", now=_now())


@form_router.get("/requests/new", response_class=HTMLResponse)
def form_page(
    request: Request, type: str | None = None, ctx: AppContext = Depends(get_ctx)
) -> HTMLResponse:
    from marketops.ops.intake.webform import render_form_page

    return render_form_page(ctx, request, type_key=type)


@form_router.post("/requests/new", response_class=HTMLResponse)
async def form_post(request: Request, ctx: AppContext = Depends(get_ctx)) -> HTMLResponse:
    from marketops.ops.intake.webform import handle_form_post

    form = await request.form()
    return handle_form_post(ctx, request, {k: str(v) for k, v in form.multi_items()}, now=_now())


# mounted by the app: the /v1 API and, outside /v1, the form for marketers
router = APIRouter()
router.include_router(v1)
router.include_router(form_router)
