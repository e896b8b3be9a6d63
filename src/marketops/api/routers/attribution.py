"""`/v1/attribution`: every attribution model side by side, as the CLI prints it.

GET reads the files named under `sources:` in the workspace's attribution.yml; POST takes the rows
in the body (small data sets, what-if runs). Both run on an in-memory DuckDB per request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from marketops.analytics.attribution.config import AttributionConfig
from marketops.api.deps import require_scope
from marketops.errors import MarketopsError, Problem

router = APIRouter(prefix="/v1", tags=["attribution"])


class AttributionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    touchpoints: list[dict[str, Any]] = Field(
        description="person_id, ts (ISO 8601 with zone), channel, source, medium, campaign, "
        "content, touch_type"
    )
    conversions: list[dict[str, Any]] = Field(
        description="conversion_id, person_id, ts, kind, amount, won"
    )
    costs: list[dict[str, Any]] | None = Field(None, description="campaign, channel, day, spend")
    config: dict[str, Any] = Field(default_factory=dict, description="attribution.yml keys")
    now: datetime | None = Field(None, description="analysis time (default: the server's clock)")


def _config(request: Request, overrides: dict[str, Any]) -> AttributionConfig:
    base: dict[str, Any] = {}
    ctx = getattr(request.app.state, "ctx", None)
    if ctx is not None:
        base = ctx.workspace.extra("attribution.yml").model_dump()
    base.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return AttributionConfig.model_validate(base)
    except ValueError as exc:
        errors = getattr(exc, "errors", lambda: [])()
        raise MarketopsError(
            "invalid attribution settings",
            [Problem(".".join(str(p) for p in e["loc"]), e["msg"]) for e in errors],
        ) from exc


def _now(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    if value.tzinfo is None:
        raise MarketopsError("now needs a time zone", [Problem("now", "no offset", "append Z")])
    return value


def _run_records(body: AttributionBody, cfg: AttributionConfig) -> dict[str, Any]:
    from marketops.analytics.attribution.load import load_records, put_tables
    from marketops.analytics.attribution.service import attribute, to_dict
    from marketops.analytics.engines import connect

    problems: list[Problem] = []
    tables: dict[str, Any] = {"costs": None}
    for name in ("touchpoints", "conversions", "costs"):
        rows = getattr(body, name)
        if rows is None:
            continue
        try:
            tables[name] = load_records(name, rows)
        except MarketopsError as exc:
            problems.extend(exc.problems)
    if problems:
        raise MarketopsError("request rows have problems", problems)
    con = connect()
    try:
        put_tables(con, tables)
        return to_dict(attribute(con, cfg, _now(body.now)))
    finally:
        con.disconnect()


@router.post("/attribution", summary="Attribute the posted touchpoints and conversions")
async def post_attribution(
    request: Request, body: AttributionBody, _key: str = Depends(require_scope("read"))
) -> dict[str, Any]:
    cfg = _config(request, body.config)
    return await run_in_threadpool(_run_records, body, cfg)


@router.get("/attribution", summary="Attribute the workspace's configured files")
async def get_attribution(
    request: Request,
    by: Literal["channel", "source_medium", "campaign", "content"] | None = None,
    models: str | None = Query(None, description="comma-separated model names"),
    kinds: str | None = Query(None, description="comma-separated conversion kinds"),
    now: datetime | None = None,
    _key: str = Depends(require_scope("read")),
) -> dict[str, Any]:
    from marketops.analytics.attribution.service import attribute_files, to_dict

    def split(text: str | None) -> list[str] | None:
        return [p.strip() for p in text.split(",") if p.strip()] if text else None

    cfg = _config(request, {"by": by, "models": split(models), "kinds": split(kinds)})
    ctx = request.app.state.ctx
    src = cfg.sources
    if not (src.touchpoints and src.conversions):
        raise MarketopsError(
            "no attribution sources configured",
            [
                Problem(
                    "attribution.yml sources",
                    "touchpoints and conversions are not set",
                    "add sources.touchpoints and sources.conversions, or POST the rows",
                )
            ],
        )
    root = ctx.workspace.root
    result = await run_in_threadpool(
        attribute_files,
        root / src.touchpoints,
        root / src.conversions,
        root / src.costs if src.costs else None,
        cfg,
        _now(now),
    )
    return to_dict(result)
