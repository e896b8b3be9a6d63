"""`marketops serve --with-worker`: the API and the worker loop in one real uvicorn process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import httpx

from marketops.notify import outbox
from marketops.notify.receiver import Receiver
from marketops.services.context import AppContext
from marketops.testing.pgserver import free_port
from marketops.workspace import Workspace


def test_serve_with_worker_delivers(workspace_dir, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    monkeypatch.setenv("MARKETOPS_DATABASE_URL", db)
    ctx = AppContext.open(Workspace.load(workspace_dir))
    rx = Receiver("s")
    rx.start()
    port = free_port()
    env = {**os.environ, "MARKETOPS_DATABASE_URL": db, "MARKETOPS_WEBHOOK_SECRET": "s"}
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "marketops.cli",
            "serve",
            "-w",
            str(workspace_dir),
            "--port",
            str(port),
            "--with-worker",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        with ctx.engine.begin() as conn:
            outbox.enqueue(
                conn,
                channel="webhook",
                destination=rx.url,
                payload={"hello": "world"},
                idempotency_key="served",
                now=datetime.now(UTC),
            )
        while time.monotonic() < deadline and "served" not in rx.accepted:
            time.sleep(0.1)
        assert rx.accepted.get("served") == {"hello": "world"}
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()
        rx.stop()
        ctx.close()
    # uvicorn re-raises SIGTERM after a graceful shutdown (the worker thread is joined before)
    assert proc.returncode in (0, -signal.SIGTERM), (tmp_path / "serve.log").read_text()
