"""The dashboard: server-rendered pages behind a sign-in, beside the API.

Thin: each page calls `marketops.web.pages`, which calls the same services/analytics as the CLI.
Sign-in uses the `web_users`/`web_sessions` tables (scrypt hashes, signed HttpOnly SameSite=Lax
cookies); every form carries a CSRF token checked on POST.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from marketops.api.deps import get_ctx
from marketops.errors import MarketopsError, NotFound
from marketops.services.context import AppContext
from marketops.web import auth, pages
from marketops.web.render import STATIC, render

router = APIRouter(include_in_schema=False, tags=["dashboard"])

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
STATIC_TYPES = {".css": "text/css", ".svg": "image/svg+xml", ".js": "text/javascript"}
INTAKE_FORM = "/requests/new"
LOGIN_ERRORS = {"credentials": "Unknown user name or wrong password."}


def _now() -> datetime:
    return datetime.now(UTC)


def _users(ctx: AppContext) -> auth.UserService:
    return auth.UserService(ctx.engine)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _html(body: str, status: int = 200, csp: str = CSP) -> HTMLResponse:
    return HTMLResponse(
        body,
        status_code=status,
        headers={
            "Content-Security-Policy": csp,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "Cache-Control": "no-store",
        },
    )


def current_session(request: Request, ctx: AppContext = Depends(get_ctx)) -> auth.Session:
    """The signed-in person, or a redirect to the sign-in page."""
    session = _users(ctx).session(request.cookies.get(auth.SESSION_COOKIE), _now())
    if session is None:
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        raise HTTPException(303, "sign in first", headers={"Location": f"/login?next={target}"})
    return session


def _check_csrf(session: auth.Session, token: str) -> None:
    if not hmac.compare_digest(session.csrf_token, token or ""):
        raise HTTPException(
            403, "the form is stale or forged (CSRF token mismatch): reload the page"
        )


def _safe_next(target: str | None) -> str:
    """Only local paths, so the sign-in form cannot redirect people elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/dashboard"
    return target


def _page(
    ctx: AppContext, session: auth.Session | None, key: str, title: str, template: str, **kw: Any
) -> HTMLResponse:
    view = kw.pop("view", None)
    data: dict[str, Any] = {}
    if isinstance(view, pages.Unavailable):
        data["unavailable"] = view
    elif view:
        data.update(view)
    return _html(
        render(
            template,
            title=title,
            active=key,
            pages=pages.PAGES,
            session=session,
            now=_now(),
            workspace_name=ctx.workspace.settings.name,
            request_form=INTAKE_FORM if pages.has_module("marketops.ops.intake") else None,
            **data,
            **kw,
        )
    )


# --- static files and sign-in --------------------------------------------------------------------
@router.get("/dashboard/static/{name}")
def static(name: str) -> Response:
    path = (STATIC / name).resolve()
    if path.parent != STATIC.resolve() or not path.is_file() or path.suffix not in STATIC_TYPES:
        raise HTTPException(404, "no such file")
    return FileResponse(
        path,
        media_type=STATIC_TYPES[path.suffix],
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/dashboard", status_code=303)


@router.get("/login")
def login_form(
    request: Request,
    next: str = "/dashboard",
    error: str | None = None,
    ctx: AppContext = Depends(get_ctx),
) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    resp = _page(
        ctx,
        None,
        "login",
        "Sign in",
        "login.html",
        csrf_token=auth.login_token(nonce),
        next=_safe_next(next),
        # a fixed text per code: the query string cannot put words on our page
        flash=LOGIN_ERRORS.get(error or ""),
        flash_kind="error",
    )
    resp.set_cookie(
        auth.LOGIN_COOKIE,
        nonce,
        max_age=3600,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    return resp


@router.post("/login")
def login(
    request: Request,
    username: str = Form(...),
    password: str = Form(...),
    csrf_token: str = Form(""),
    next: str = Form("/dashboard"),
    ctx: AppContext = Depends(get_ctx),
) -> Response:
    nonce = request.cookies.get(auth.LOGIN_COOKIE) or ""
    if not nonce or not hmac.compare_digest(auth.login_token(nonce), csrf_token):
        raise HTTPException(403, "the sign-in form is stale or forged: reload /login")
    users = _users(ctx)
    user = users.authenticate(username, password)
    if user is None:
        return RedirectResponse(
            f"/login?error=credentials&next={quote(_safe_next(next))}",
            status_code=303,
        )
    cookie, _session = users.start_session(user, _now())
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(
        auth.SESSION_COOKIE,
        cookie,
        max_age=int(auth.SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )
    resp.delete_cookie(auth.LOGIN_COOKIE)
    return resp


@router.post("/logout")
def logout(
    request: Request,
    csrf_token: str = Form(""),
    session: auth.Session = Depends(current_session),
    ctx: AppContext = Depends(get_ctx),
) -> Response:
    _check_csrf(session, csrf_token)
    _users(ctx).end_session(request.cookies.get(auth.SESSION_COOKIE))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(auth.SESSION_COOKIE, path="/")
    return resp


# --- pages ---------------------------------------------------------------------------------------
# the read-only pages: (path, nav key and template name, title, view builder)
_VIEWS: list[tuple[str, str, str, Callable[[AppContext, datetime], Any]]] = [
    ("/dashboard", "overview", "Pipeline overview", pages.overview),
    ("/dashboard/attribution", "attribution", "Attribution", pages.attribution),
    ("/dashboard/health", "health", "Data health", pages.health),
    ("/dashboard/slas", "slas", "SLAs", pages.slas),
    ("/dashboard/routing", "routing", "Routing", pages.routing),
    ("/dashboard/journeys", "journeys", "Journeys and segments", pages.journeys),
    ("/dashboard/stack", "stack", "Stack audit", pages.stack),
]


def _view_page(key: str, title: str, build: Callable[[AppContext, datetime], Any]) -> Callable:
    def page(
        session: auth.Session = Depends(current_session), ctx: AppContext = Depends(get_ctx)
    ) -> HTMLResponse:
        return _page(ctx, session, key, title, f"{key}.html", view=build(ctx, _now()))

    page.__name__ = f"{key}_page"
    return page


for _path, _key, _title, _build in _VIEWS:
    router.get(_path, name=f"{_key}_page")(_view_page(_key, _title, _build))


@router.get("/dashboard/backlog")
def backlog_page(
    session: auth.Session = Depends(current_session), ctx: AppContext = Depends(get_ctx)
) -> HTMLResponse:
    view = pages.backlog(ctx, _now())
    tz = view.get("tz", "UTC")

    def local(value: datetime) -> str:
        from zoneinfo import ZoneInfo

        return value.astimezone(ZoneInfo(tz)).strftime("%a %Y-%m-%d %H:%M")

    return _page(ctx, session, "backlog", "Request backlog", "backlog.html", view=view, local=local)


@router.get("/dashboard/quarantine")
def quarantine_page(
    replayed: int | None = None,
    failed: int | None = None,
    discarded: int | None = None,
    session: auth.Session = Depends(current_session),
    ctx: AppContext = Depends(get_ctx),
) -> HTMLResponse:
    flash, kind = None, "ok"
    if replayed is not None:
        flash = f"Record {replayed} replayed: it passed the contract and is now a lead."
    elif failed is not None:
        flash, kind = f"Record {failed} still fails the contract; its reasons are updated.", "error"
    elif discarded is not None:
        flash = f"Record {discarded} discarded (kept for audit)."
    return _page(
        ctx,
        session,
        "quarantine",
        "Quarantine",
        "quarantine.html",
        view=pages.quarantine(ctx, _now()),
        flash=flash,
        flash_kind=kind,
    )


@router.post("/dashboard/quarantine/{record_id}/replay")
async def quarantine_replay(
    record_id: int,
    csrf_token: str = Form(""),
    session: auth.Session = Depends(current_session),
    ctx: AppContext = Depends(get_ctx),
) -> Response:
    from marketops.services.quarantine import replay

    _check_csrf(session, csrf_token)
    try:
        result = await run_in_threadpool(replay, ctx, _now(), [record_id])
    except NotFound:
        return RedirectResponse("/dashboard/quarantine", status_code=303)
    key = "replayed" if record_id in result["replayed"] else "failed"
    return RedirectResponse(f"/dashboard/quarantine?{key}={record_id}", status_code=303)


@router.post("/dashboard/quarantine/{record_id}/discard")
def quarantine_discard(
    record_id: int,
    csrf_token: str = Form(""),
    session: auth.Session = Depends(current_session),
    ctx: AppContext = Depends(get_ctx),
) -> Response:
    from marketops.services.quarantine import discard

    _check_csrf(session, csrf_token)
    try:
        discard(ctx, record_id, _now())
    except MarketopsError:
        return RedirectResponse("/dashboard/quarantine", status_code=303)
    return RedirectResponse(f"/dashboard/quarantine?discarded={record_id}", status_code=303)


@router.get("/dashboard/scorecard")
def scorecard_page(
    session: auth.Session = Depends(current_session), ctx: AppContext = Depends(get_ctx)
) -> HTMLResponse:
    """The weekly scorecard as it would be mailed (self-contained HTML)."""
    from marketops.reports.scorecard import build_scorecard

    # the scorecard carries its own <style> (it must stand alone in a mail), never a script
    return _html(
        build_scorecard(ctx, _now()),
        csp=CSP.replace("style-src 'self'", "style-src 'unsafe-inline'"),
    )
