"""`/v1/health/runs`: run data health on the store, list the trend, read one run.

Running a check scans the whole leads table, stores the run and may queue alerts, so it needs the
`admin` scope; reading runs needs `read`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from marketops.api.deps import get_ctx, require_scope
from marketops.errors import MarketopsError, Problem
from marketops.services.context import AppContext

router = APIRouter(prefix="/v1", tags=["data health"])

Dimension = Literal["completeness", "validity", "timeliness", "uniqueness", "consistency"]


class RunBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    now: datetime | None = Field(None, description="measure as of (default: the server's clock)")
    engine: Literal["auto", "duckdb"] = Field(
        "auto",
        description="auto: PostgreSQL stores in place, SQLite copied into DuckDB; duckdb: always"
        " copy into DuckDB (no arbitrary URLs over HTTP)",
    )


@router.post("/health/runs", status_code=201, summary="Score the store against the contract")
async def post_run(
    body: RunBody | None = None,
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("admin")),
) -> dict[str, Any]:
    from marketops.analytics.health.service import run_health

    body = body or RunBody()
    now = body.now or datetime.now(UTC)
    if now.tzinfo is None:
        raise MarketopsError("now needs a time zone", [Problem("now", "no offset", "append Z")])
    engine_url = "duckdb://" if body.engine == "duckdb" else None
    report = await run_in_threadpool(run_health, ctx, now, engine_url=engine_url)
    return report.to_dict()


@router.get("/health/runs", summary="Stored runs, newest first (the trend)")
async def list_runs(
    limit: int = Query(20, ge=1, le=1000),
    source: str | None = None,
    dimension: Dimension | None = Query(None, description="with `field`: one field's trend"),
    field: str | None = None,
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("read")),
) -> list[dict[str, Any]]:
    from marketops.analytics.health.service import run_history

    if (dimension is None) != (field is None):
        raise MarketopsError(
            "give both dimension and field, or neither",
            [Problem("dimension/field", "only one given", "e.g. dimension=validity&field=email")],
        )
    return await run_in_threadpool(
        run_history, ctx, limit=limit, source=source, dimension=dimension, field=field
    )


@router.get("/health/runs/{run_id}", summary="One run with every field score")
async def get_run(
    run_id: int,
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("read")),
) -> dict[str, Any]:
    from marketops.analytics.health.service import get_run as load

    return await run_in_threadpool(load, ctx, run_id)
