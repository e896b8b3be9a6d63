"""POST /v1/preflight: the pre-send checklist over an HTML body or a raw .eml message."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field, model_validator

from marketops.api.deps import get_ctx, require_scope
from marketops.ops.preflight import HttpLinkChecker, parse_document, run_preflight
from marketops.ops.preflight.utm import load_taxonomy_file
from marketops.services.context import AppContext

router = APIRouter(prefix="/v1", tags=["preflight"])


class PreflightRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    html: str | None = Field(None, description="an HTML email or landing page")
    eml: str | None = Field(None, description="a raw RFC 5322 message (headers and MIME parts)")
    name: str = Field("document", max_length=200, description="label used in every location")
    page: bool = Field(False, description="a landing page: skip the email-only checks")
    check_links: bool = Field(
        False, description="fetch links over HTTP (only if preflight.yml sets api_allow_online)"
    )

    @model_validator(mode="after")
    def _one_body(self) -> PreflightRequest:
        if (self.html is None) == (self.eml is None):
            raise ValueError("send exactly one of `html` or `eml`")
        return self


class FindingOut(BaseModel):
    check: str
    severity: str
    where: str
    message: str
    hint: str
    element: str


class ReportOut(BaseModel):
    source: str
    can_ship: bool
    blockers: int
    warnings: int
    findings: list[FindingOut]
    stats: dict[str, Any]


@router.post("/preflight", response_model=ReportOut)
def preflight(
    body: PreflightRequest,
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("read")),
) -> dict[str, Any]:
    """Run the checklist; `can_ship` is false when any blocker is found. Link checks are
    syntax-only unless the workspace allows online checks and the request asks for them."""
    config = ctx.workspace.extra("preflight.yml")
    if body.check_links and not config.api_allow_online:
        raise HTTPException(
            403,
            "online link checks are disabled for the API: set "
            "`api_allow_online: true` in preflight.yml",
        )
    taxonomy = load_taxonomy_file(ctx.workspace.path(config.utm.taxonomy))
    if body.eml is not None:
        document = parse_document(body.eml, body.name, kind="eml")
    else:
        document = parse_document(body.html or "", body.name, kind="html", page=body.page)
    if not body.check_links:
        return run_preflight(document, config, None, taxonomy=taxonomy).to_dict()
    links = config.links
    with HttpLinkChecker(
        timeout_s=links.timeout_s,
        max_redirects=links.max_redirects,
        concurrency=links.concurrency,
        user_agent=links.user_agent,
    ) as checker:
        return run_preflight(document, config, checker, taxonomy=taxonomy).to_dict()
