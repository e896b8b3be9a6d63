"""Two workers against one PostgreSQL database: every delivery is sent exactly once.

First two worker loops in threads, each with its own engine (separate connections); then two real
`marketops worker` processes, stopped with SIGTERM. The receiver never fails here, so any second
request for a key would be a double claim.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from marketops.notify import NOTIFICATIONS_FILE, outbox
from marketops.notify.config import load_notifications
from marketops.notify.delivery import deliver_due
from marketops.notify.receiver import Receiver
from marketops.services.context import AppContext
from marketops.store.tables_notify import outbox_attempts
from marketops.worker.jobs import Job
from marketops.worker.runner import run_worker
from marketops.workspace import Workspace

pytestmark = pytest.mark.postgres
N = 240


def _setup(workspace_dir: Path, pg_url: str, rx: Receiver, monkeypatch) -> AppContext:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MARKETOPS_DATABASE_URL", pg_url)
    monkeypatch.setenv("MARKETOPS_WEBHOOK_SECRET", "s")
    (workspace_dir / NOTIFICATIONS_FILE).write_text(
        yaml.safe_dump({"delivery": {"batch_size": 10, "concurrency": 4, "lease_s": 300}})
    )
    ctx = AppContext.open(Workspace.load(workspace_dir))
    with ctx.engine.begin() as conn:
        for i in range(N):
            outbox.enqueue(
                conn,
                channel="webhook",
                destination=rx.url,
                payload={"i": i},
                idempotency_key=f"k{i}",
                now=datetime.now(UTC),
            )
    return ctx


def _wait_delivered(ctx: AppContext, timeout_s: float = 60) -> dict[str, int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with ctx.engine.connect() as conn:
            c = outbox.counts(conn)
        if c["delivered"] == N:
            return c
        time.sleep(0.1)
    raise AssertionError(f"not delivered in time: {c}")


def _attempts_by_worker(ctx: AppContext) -> dict[str, int]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(outbox_attempts.c.worker, func.count()).group_by(outbox_attempts.c.worker)
        ).all()
    return {w: n for w, n in rows}


def test_two_worker_threads_separate_connections(workspace_dir, pg_database, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rx = Receiver("s")
    rx.start()
    ctx = _setup(workspace_dir, pg_database, rx, monkeypatch)
    other = AppContext.open(Workspace.load(workspace_dir), migrate=False)  # its own engine/pool
    stop = threading.Event()

    def job(name: str) -> Job:
        def tick(c, now):  # type: ignore[no-untyped-def]
            cfg = load_notifications(c.workspace.root)
            return deliver_due(c.engine, cfg, now=now, worker=name).claimed

        return Job("outbox", tick, 0.05)

    threads = [
        threading.Thread(target=run_worker, args=(c,), kwargs={"jobs": [job(n)], "stop": stop})
        for c, n in ((ctx, "A"), (other, "B"))
    ]
    try:
        for t in threads:
            t.start()
        assert _wait_delivered(ctx) == {"pending": 0, "delivered": N, "dead": 0}
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        rx.stop()
    assert sorted(rx.requests) == sorted(f"k{i}" for i in range(N))
    assert set(rx.requests.values()) == {1}, "a delivery was sent twice"
    by_worker = _attempts_by_worker(ctx)
    assert sum(by_worker.values()) == N and set(by_worker) <= {"A", "B"}
    other.close()
    ctx.close()


def test_two_worker_processes(workspace_dir, pg_database, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rx = Receiver("s")
    rx.start()
    ctx = _setup(workspace_dir, pg_database, rx, monkeypatch)
    env = {**os.environ, "MARKETOPS_DATABASE_URL": pg_database, "MARKETOPS_WEBHOOK_SECRET": "s"}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "marketops.cli",
                "worker",
                "-w",
                str(workspace_dir),
                "--job",
                "outbox",
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    try:
        assert _wait_delivered(ctx) == {"pending": 0, "delivered": N, "dead": 0}
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        outputs = [p.communicate(timeout=20)[0].decode() for p in procs]
        rx.stop()
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert set(rx.requests.values()) == {1} and len(rx.requests) == N
    assert sum(_attempts_by_worker(ctx).values()) == N
    ctx.close()
