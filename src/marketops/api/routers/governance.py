"""Change control over HTTP: plan (diff + back-test), apply, rollback, versions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from marketops.api.deps import get_ctx, require_scope
from marketops.services.context import AppContext

router = APIRouter(prefix="/v1/workspace", tags=["change control"])


class PlanRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "since": "90d",
                "outcomes": [{"email": "jane@example.com", "won": True, "amount": "12000.00"}],
            }
        },
    )
    since: str | None = Field(
        None, description="YYYY-MM-DD, ISO date-time, 90d / 3m, or `all` (default: governance.yml)"
    )
    until: str | None = Field(None, description="end of the period (default: now)")
    outcomes: list[dict[str, Any]] | None = Field(
        None, description="deal outcomes: {lead_id or email, won, amount}"
    )


class ApplyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    who: str = Field(min_length=1, max_length=200)
    why: str = Field(min_length=1)
    plan_id: int | None = Field(None, description="default: the latest plan of the working files")


class RollbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1)
    who: str = Field(min_length=1, max_length=200)
    why: str = Field(min_length=1)
    force: bool = Field(False, description="overwrite working-file changes never applied")


@router.post("/plan", summary="Diff the working files against the live version and back-test")
def post_plan(
    body: PlanRequest,
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("read")),
) -> dict[str, Any]:
    from marketops.governance import service
    from marketops.governance.outcomes import parse_outcomes

    now = datetime.now(UTC)
    until = service.parse_time(body.until, "until") if body.until else None
    everything = body.since is not None and body.since.strip().lower() == "all"
    since = (
        service.parse_since(body.since, until or now, "since")
        if body.since and not everything
        else None
    )
    outcomes = parse_outcomes(body.outcomes) if body.outcomes is not None else None
    # workers=1: never fork a threaded server process
    return service.plan(
        ctx, now=now, since=since, all_history=everything, until=until, outcomes=outcomes, workers=1
    )


@router.get("/plans/{plan_id}", summary="A recorded plan and its back-test")
def get_plan(
    plan_id: int,
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("read")),
) -> dict[str, Any]:
    from marketops.governance import service

    return service.get_plan(ctx, plan_id)


@router.post("/apply", summary="Make the planned working files the live version")
def post_apply(
    body: ApplyRequest,
    ctx: AppContext = Depends(get_ctx),
    key_id: str = Depends(require_scope("admin")),
) -> dict[str, Any]:
    from marketops.governance import service

    return service.apply(
        ctx,
        who=body.who,
        why=body.why,
        now=datetime.now(UTC),
        plan_id=body.plan_id,
        via=f"api:{key_id}",
    )


@router.post("/rollback", summary="Return to an earlier version (recorded as a new version)")
def post_rollback(
    body: RollbackRequest,
    ctx: AppContext = Depends(get_ctx),
    key_id: str = Depends(require_scope("admin")),
) -> dict[str, Any]:
    from marketops.governance import service

    return service.rollback(
        ctx,
        body.version,
        who=body.who,
        why=body.why,
        now=datetime.now(UTC),
        force=body.force,
        via=f"api:{key_id}",
    )


@router.get("/versions", summary="The history of versions, newest first")
def get_versions(
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("read")),
) -> dict[str, Any]:
    from marketops.governance import service

    return service.list_versions(ctx)


@router.get("/versions/{version}", summary="A version's files and its diff")
def get_version(
    version: int,
    against: int | None = None,
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("read")),
) -> dict[str, Any]:
    """The diff is from the version before it, or from `against` when given."""
    from marketops.governance import service

    return service.show_version(ctx, version, against)
