"""The FastAPI application factory. Every module in `api.routers` with a `router` is mounted."""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

import marketops
from marketops.api import routers
from marketops.errors import Conflict, MarketopsError, NotFound
from marketops.services.context import AppContext
from marketops.workspace import Workspace


def create_app(workspace: Workspace | None = None, ctx: AppContext | None = None) -> FastAPI:
    ctx = ctx or AppContext.open(workspace or Workspace.load())
    app = FastAPI(
        title="marketops",
        version=marketops.__version__,
        description="Marketing operations engine API. Authenticate with `Authorization: Bearer <key>`"
        " (keys from `marketops keys create`, each with scopes: ingest, read, admin).",
    )
    app.state.ctx = ctx

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(MarketopsError)
    async def _user_error(_: Request, exc: MarketopsError) -> JSONResponse:
        return JSONResponse(
            {
                "detail": str(exc).splitlines()[0],
                "errors": [
                    {"where": p.where, "message": p.message, "hint": p.hint} for p in exc.problems
                ],
            },
            status_code=422,
        )

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"][1:]) or "(body)", "reason": e["msg"]}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": "request is not valid", "errors": errors}, status_code=422)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    for mod in sorted(pkgutil.iter_modules(routers.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{routers.__name__}.{mod.name}")
        router = getattr(module, "router", None)
        if router is not None:
            app.include_router(router)
    return app
