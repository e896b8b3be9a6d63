"""UTM builder and checker, channel classification: thin HTTP wrappers over marketops.taxonomy."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from marketops.api.deps import get_ctx, require_scope
from marketops.services.context import AppContext
from marketops.taxonomy.lint import lint_urls
from marketops.taxonomy.ruleset import describe
from marketops.taxonomy.service import workspace_ruleset, workspace_taxonomy
from marketops.taxonomy.utm import build_url

router = APIRouter(prefix="/v1", tags=["taxonomy"])


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UtmBuildRequest(_In):
    url: str = Field(max_length=4096, description="landing page; its query and #fragment are kept")
    source: str | None = Field(None, description="utm_source")
    medium: str | None = Field(None, description="utm_medium")
    campaign: str | None = Field(None, description="utm_campaign (or give `parts`)")
    term: str | None = None
    content: str | None = None
    params: dict[str, str] = Field({}, description="other parameters, e.g. {utm_id: '42'}")
    parts: dict[str, str] = Field({}, description="naming-template parts, e.g. {objective: leads}")


class UtmBuildResponse(BaseModel):
    url: str


class UtmCheckRequest(_In):
    urls: list[str] = Field(min_length=1, max_length=10_000)


class ChannelRow(_In):
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None


class ClassifyRequest(_In):
    rows: list[ChannelRow] = Field(min_length=1, max_length=100_000)
    explain: bool = Field(False, description="also return the id of the deciding rule")


class ClassifyResponse(BaseModel):
    ruleset: str
    channels: list[str]
    rules: list[str] | None = None


@router.post("/utm", response_model=UtmBuildResponse)
def build_utm(
    body: UtmBuildRequest,
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("read")),
) -> UtmBuildResponse:
    """A tagged URL that passes taxonomy.yml; 422 lists every rule that blocks it."""
    ws = ctx.workspace
    params: dict[str, str | None] = {
        "utm_source": body.source,
        "utm_medium": body.medium,
        "utm_campaign": body.campaign,
        "utm_term": body.term,
        "utm_content": body.content,
        **body.params,
    }
    url = build_url(
        body.url,
        params,
        workspace_taxonomy(ws.root),
        parts=body.parts or None,
        now=datetime.now(ZoneInfo(ws.settings.timezone)),
    )
    return UtmBuildResponse(url=url)


@router.post("/utm/check")
def check_utm(
    body: UtmCheckRequest,
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("read")),
) -> dict[str, Any]:
    """Every violation of each URL, with a suggested fix, and the compliance percentage."""
    report = lint_urls(body.urls, workspace_taxonomy(ctx.workspace.root), source="urls")
    return report.to_dict()


@router.post("/channels/classify", response_model=ClassifyResponse)
def classify_channels(
    body: ClassifyRequest,
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("read")),
) -> ClassifyResponse:
    """Channel of each row under the workspace ruleset (channels.yml, else GA4's default)."""
    rules = workspace_ruleset(ctx.workspace.root)
    decided = [rules.explain(r.source, r.medium, r.campaign) for r in body.rows]
    return ClassifyResponse(
        ruleset=rules.label,
        channels=[c for c, _ in decided],
        rules=[r for _, r in decided] if body.explain else None,
    )


@router.get("/channels/rules")
def channel_rules(
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("read")),
) -> dict[str, Any]:
    """The ruleset in force, its version and its rules in evaluation order."""
    rules = workspace_ruleset(ctx.workspace.root)
    return {
        "ruleset": rules.label,
        "name": rules.name,
        "version": rules.version,
        "default_channel": rules.resolved.default_channel,
        "rules": [
            {"order": i + 1, "id": r.id, "channel": r.channel, "when": describe(r.when)}
            for i, r in enumerate(rules.resolved.rules)
            if r.when is not None
        ],
    }
