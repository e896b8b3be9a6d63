"""Start `marketops serve` as a real uvicorn process on 127.0.0.1 and wait until it answers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from marketops.testing.pgserver import free_port


class LiveServer:
    def __init__(
        self, base_url: str, proc: subprocess.Popen, workspace: Path, env: dict, log: Path
    ):
        self.base_url = base_url
        self.proc = proc
        self.workspace = workspace
        self.env = env
        self.log = log  # the server's stdout/stderr: a file, so a chatty server never blocks

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)


def start_server(
    workspace: Path, env_extra: dict[str, str] | None = None, *, workers: int = 1
) -> LiveServer:
    port = free_port()
    env = {**os.environ, **(env_extra or {})}
    log = workspace / f"server-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "marketops.cli",
                "serve",
                "-w",
                str(workspace),
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text(errors='replace')}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return LiveServer(base, proc, workspace, env, log)
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start within 60 s")


def stop_server(server: LiveServer) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(10)
    except subprocess.TimeoutExpired:
        server.proc.kill()


def serve_workspace(
    workspace: Path,
    database_url: str,
    scopes: tuple[str, ...] = ("ingest", "read", "admin"),
    *,
    workers: int = 1,
) -> tuple[LiveServer, dict[str, str]]:
    """Migrate the store, create one API key per scope, and start `marketops serve` on it."""
    from marketops.services.context import AppContext
    from marketops.workspace import Workspace

    previous = os.environ.get("MARKETOPS_DATABASE_URL")
    os.environ["MARKETOPS_DATABASE_URL"] = database_url
    try:
        ctx = AppContext.open(Workspace.load(workspace))
    finally:
        if previous is None:
            os.environ.pop("MARKETOPS_DATABASE_URL")
        else:
            os.environ["MARKETOPS_DATABASE_URL"] = previous
    try:
        tokens = {s: ctx.keys.create(f"test-{s}", [s])[1] for s in scopes}
    finally:
        ctx.close()
    server = start_server(workspace, {"MARKETOPS_DATABASE_URL": database_url}, workers=workers)
    return server, tokens
