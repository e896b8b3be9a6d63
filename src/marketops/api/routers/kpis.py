"""`GET /v1/kpis?period=…`: funnel and revenue KPIs from the store (as `marketops report kpis`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from marketops.api.deps import get_ctx, require_scope
from marketops.errors import MarketopsError, Problem
from marketops.services.context import AppContext

router = APIRouter(prefix="/v1", tags=["kpis"])


@router.get("/kpis", summary="Funnel and revenue KPIs for a period")
async def get_kpis(
    period: str | None = Query(
        None, description="2026-10, 2026-Q3, 2026, 2026-10-01..2026-10-31, this-month, last-month"
    ),
    now: datetime | None = Query(None, description="as-of time (default: the server's clock)"),
    format: Literal["json", "csv"] = Query("json"),
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("read")),
) -> Any:
    from marketops.analytics.kpis.period import parse_period
    from marketops.analytics.kpis.service import report

    if now is not None and now.tzinfo is None:
        raise MarketopsError("now needs a time zone", [Problem("now", "no offset", "append Z")])
    at = now or datetime.now(UTC)
    result = await run_in_threadpool(report, ctx, parse_period(period, at), at)
    if format == "csv":
        return PlainTextResponse(result.csv(), media_type="text/csv")
    return result.as_dict()
