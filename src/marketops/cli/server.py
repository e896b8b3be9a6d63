"""serve and keys: the HTTP API and its credentials."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from marketops.cli._common import WorkspaceOpt, console, table, user_errors

keys_app = typer.Typer(
    help="API keys with scopes (ingest, read, admin); stored hashed.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(keys_app, name="keys")


def serve(
    workspace: WorkspaceOpt = None,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    log_level: Annotated[str, typer.Option()] = "warning",
    with_worker: Annotated[
        bool,
        typer.Option("--with-worker", help="also run the background jobs (`marketops worker`)"),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1, help="server processes (each with its own store connections and caches)"
        ),
    ] = 1,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import os

    import uvicorn

    from marketops.api.app import create_app
    from marketops.errors import MarketopsError, Problem
    from marketops.workspace import ENV_WORKSPACE, Workspace

    with user_errors():
        ws = Workspace.load(workspace)
        if workers > 1:
            if with_worker:
                raise MarketopsError(
                    "--with-worker runs the jobs inside one server process",
                    [
                        Problem(
                            "--workers", str(workers), "use --workers 1, or run `marketops worker`"
                        )
                    ],
                )
            # each process builds its own app (and store engine) from the workspace path
            os.environ[ENV_WORKSPACE] = str(ws.root)
            uvicorn.run(
                "marketops.api.app:create_app",
                factory=True,
                host=host,
                port=port,
                log_level=log_level,
                access_log=False,
                workers=workers,
            )
            return
        app = create_app(ws)
    if with_worker:
        _attach_worker(app)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


def _attach_worker(app) -> None:  # type: ignore[no-untyped-def]
    """Run the worker loop in a thread for the server's lifetime (started and stopped with it).

    Hooked into the lifespan rather than around `uvicorn.run`, because uvicorn re-raises the
    stopping signal after shutdown and code after `run` would never execute.
    """
    import asyncio
    from contextlib import asynccontextmanager

    from marketops.worker.runner import start_in_thread

    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a):  # type: ignore[no-untyped-def]
        async with inner(a) as state:
            thread, stop = start_in_thread(app.state.ctx)
            try:
                yield state
            finally:
                stop.set()
                await asyncio.to_thread(thread.join, 30)

    app.router.lifespan_context = lifespan


def _keys(workspace: Path | None):  # type: ignore[no-untyped-def]
    from marketops.services.context import AppContext
    from marketops.workspace import Workspace

    return AppContext.open(Workspace.load(workspace)).keys


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="who or what uses the key")],
    scope: Annotated[list[str], typer.Option("--scope", "-s", help="ingest, read or admin")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Create a key. The token is printed once; only its hash is stored."""
    with user_errors():
        key, token = _keys(workspace).create(name, scope)
    console.print(f"created key [bold]{key.id}[/] ({', '.join(sorted(key.scopes))})")
    console.print("token (shown once, store it in your secret manager):")
    typer.echo(token)


@keys_app.command("list")
def keys_list(workspace: WorkspaceOpt = None) -> None:
    """Keys with scopes and status (never the secret)."""
    with user_errors():
        keys = _keys(workspace).list()
    console.print(
        table(
            "API keys",
            ["id", "name", "scopes", "created", "revoked"],
            [
                [
                    k.id,
                    k.name,
                    ",".join(sorted(k.scopes)),
                    k.created_at.isoformat(),
                    k.revoked_at.isoformat() if k.revoked_at else "",
                ]
                for k in keys
            ],
        )
    )


@keys_app.command("revoke")
def keys_revoke(key_id: str, workspace: WorkspaceOpt = None) -> None:
    """Revoke a key; requests with it fail from now on."""
    with user_errors():
        _keys(workspace).revoke(key_id)
    console.print(f"revoked {key_id}")
