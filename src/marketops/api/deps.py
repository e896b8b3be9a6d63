"""Request dependencies: the app context and API-key scopes (least privilege)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from marketops.services.context import AppContext

SCOPES = ("ingest", "read", "admin")
_bearer = HTTPBearer(auto_error=False, description="API key from `marketops keys create`")


async def get_ctx(request: Request) -> AppContext:
    # async: FastAPI would run a plain `def` dependency in the thread pool, a hand-off that cost
    # more than the whole lookup (measured ~15% of a capture request's server CPU)
    return request.app.state.ctx


def require_scope(scope: str) -> Callable[..., str]:
    """Dependency: the caller's key must carry `scope` (admin implies every scope)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope}")

    async def check(  # async for the same reason; a key is normally an in-memory cache hit
        request: Request,
        creds: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ) -> str:
        if creds is None:
            raise HTTPException(
                401,
                "missing API key: send `Authorization: Bearer <key>`",
                headers={"WWW-Authenticate": "Bearer"},
            )
        ctx: AppContext = request.app.state.ctx
        key = ctx.keys.cached(creds.credentials)
        if key is None:  # a store read: off the event loop, so bad tokens cannot stall it
            key = await run_in_threadpool(ctx.keys.verify, creds.credentials)
        if key is None:
            raise HTTPException(
                401, "unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"}
            )
        if scope not in key.scopes and "admin" not in key.scopes:
            raise HTTPException(
                403, f"this key lacks the `{scope}` scope (has: {sorted(key.scopes)})"
            )
        return key.id

    return check
