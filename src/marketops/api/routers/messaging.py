"""Journey email: the public unsubscribe page and one-click endpoint, send decisions, previews.

`/u/{token}` needs no API key — the signed token is the credential. GET only shows a confirmation
form (link scanners prefetch GETs); POST unsubscribes, whether from that form or from a mailbox
provider's RFC 8058 one-click request (`List-Unsubscribe=One-Click`).
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from marketops.api.deps import get_ctx, require_scope
from marketops.errors import MarketopsError, NotFound
from marketops.messaging import service
from marketops.messaging.unsubscribe import BadToken
from marketops.services.context import AppContext

router = APIRouter(tags=["email"])

_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"
_STYLE = "body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}"


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    doc = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
        f'</title><meta name="viewport" content="width=device-width"><meta name="robots" '
        f'content="noindex"><style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>'
        f"{body}</body></html>"
    )
    return HTMLResponse(
        doc,
        status_code=status,
        headers={"Content-Security-Policy": _CSP, "Cache-Control": "no-store"},
    )


def _failure(exc: MarketopsError) -> HTMLResponse:
    if isinstance(exc, BadToken):
        return _page("Invalid link", "<p>This unsubscribe link is not valid.</p>", 400)
    if isinstance(exc, NotFound):
        return _page("Unknown link", "<p>This unsubscribe link points to no one.</p>", 404)
    return _page("Unavailable", "<p>Unsubscribing is not configured here.</p>", 503)


@router.get("/u/{token}", include_in_schema=False)
def unsubscribe_page(token: str, ctx: AppContext = Depends(get_ctx)) -> HTMLResponse:
    try:
        view = service.unsubscribe_view(ctx, token)
    except MarketopsError as exc:
        return _failure(exc)
    who = html.escape(view.masked_email)
    if view.already:
        return _page("You are unsubscribed", f"<p>{who} gets no more marketing email.</p>")
    return _page(
        "Unsubscribe",
        f"<p>Stop marketing email to {who}?</p>"
        '<form method="post"><button type="submit">Unsubscribe</button></form>',
    )


@router.post(
    "/u/{token}",
    summary="Unsubscribe (the form, or RFC 8058 one-click); the signed token is the credential",
    responses={400: {"description": "malformed or forged token"}, 404: {"description": "no lead"}},
)
async def unsubscribe(
    token: str, request: Request, ctx: AppContext = Depends(get_ctx)
) -> HTMLResponse:
    from starlette.concurrency import run_in_threadpool

    body = (await request.body())[:200]
    method = "one-click" if b"List-Unsubscribe=One-Click" in body else "page"
    try:
        view = await run_in_threadpool(
            service.unsubscribe, ctx, token, method=method, now=datetime.now(UTC)
        )
    except MarketopsError as exc:
        return _failure(exc)
    return _page(
        "You are unsubscribed",
        f"<p>{html.escape(view.masked_email)} gets no more marketing email.</p>",
    )


@router.get("/v1/email/sends", summary="Send decisions, newest first")
def list_sends(
    lead_id: str | None = None,
    limit: int = Query(50, ge=1, le=1000),
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("read")),
) -> list[dict[str, Any]]:
    return service.sends(ctx, lead_id=lead_id, limit=limit)


class PreviewRequest(BaseModel):
    template: str
    lead_id: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


@router.post("/v1/email/preview", summary="Render a template for a lead (or with every fallback)")
def preview(
    req: PreviewRequest,
    ctx: AppContext = Depends(get_ctx),
    _key: str = Depends(require_scope("read")),
) -> dict[str, Any]:
    email = service.preview(ctx, req.template, lead_id=req.lead_id, params=req.params)
    return {"subject": email.subject, "text": email.text, "html": email.html}
