"""Outbox benchmark: N deliveries to a local receiver that fails a share of requests.

Every delivery must end delivered or dead-lettered (none lost), and the receiver's idempotent view
must hold each delivered message exactly once. Prints enqueue rate and deliveries/s (median of
--repeat runs) for SQLite with one worker and PostgreSQL with one and two workers.

    .venv/bin/python bench/outbox_delivery.py [--n 10000] [--fail-rate 0.3] [--repeat 3]

There is no peer tool to run beside it (outbox relays are usually hand-written around a broker);
the comparison printed is between store backends and worker counts.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml
from sqlalchemy import func, select

from marketops.notify import NOTIFICATIONS_FILE, outbox
from marketops.notify.config import load_notifications
from marketops.notify.delivery import deliver_due
from marketops.notify.receiver import Receiver
from marketops.notify.senders import Senders
from marketops.services.context import AppContext
from marketops.store.tables_notify import outbox_attempts
from marketops.testing.pgserver import temporary_server
from marketops.worker.jobs import Job
from marketops.worker.runner import run_worker
from marketops.workspace import Workspace
from marketops.workspace.scaffold import init_workspace

SECRET = "bench-secret"


def run_once(workspace: Path, url: str, n: int, fail_rate: float, workers: int, seed: int) -> dict:
    os.environ["MARKETOPS_DATABASE_URL"] = url
    os.environ["MARKETOPS_WEBHOOK_SECRET"] = SECRET
    ctxs = [AppContext.open(Workspace.load(workspace))]
    ctxs += [AppContext.open(Workspace.load(workspace), migrate=False) for _ in range(workers - 1)]
    rx = Receiver(SECRET, fail_rate=fail_rate, seed=seed)
    rx.start()
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    for chunk in range(0, n, 500):  # enqueue as a capture would: inside a transaction
        with ctxs[0].engine.begin() as conn:
            for i in range(chunk, min(n, chunk + 500)):
                outbox.enqueue(
                    conn,
                    channel="webhook",
                    destination=rx.url,
                    payload={"lead": i, "score": 70},
                    idempotency_key=f"bench-{seed}-{i}",
                    now=now,
                )
    enqueue_s = time.perf_counter() - t0
    cfg = load_notifications(workspace)
    stop = threading.Event()

    def job(ctx: AppContext, name: str) -> Job:
        senders = Senders(cfg, {}, os.environ)
        rng = random.Random(seed)

        def tick(c, when):  # type: ignore[no-untyped-def]
            return deliver_due(
                c.engine, cfg, now=when, worker=name, senders=senders, rng=rng
            ).claimed

        return Job("outbox", tick, 0.02)

    threads = [
        threading.Thread(
            target=run_worker, args=(c,), kwargs={"jobs": [job(c, f"w{i}")], "stop": stop}
        )
        for i, c in enumerate(ctxs)
    ]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    engine = ctxs[0].engine
    while True:
        with engine.connect() as conn:
            c = outbox.counts(conn)
        if c["pending"] == 0:
            break
        time.sleep(0.05)
    drain_s = time.perf_counter() - t0
    stop.set()
    for t in threads:
        t.join()
    rx.stop()
    with engine.connect() as conn:
        attempts = conn.execute(select(func.count()).select_from(outbox_attempts)).scalar_one()
        delivered_keys = set(
            conn.execute(
                select(outbox.outbox.c.idempotency_key).where(outbox.outbox.c.status == "delivered")
            ).scalars()
        )
    lost = n - c["delivered"] - c["dead"]
    assert lost == 0, f"{lost} deliveries lost"
    assert set(rx.accepted) == delivered_keys, "receiver view differs from the outbox"
    assert rx.bad_signatures == 0
    for ctx in ctxs:
        ctx.close()
    return {
        "enqueue_per_s": n / enqueue_s,
        "deliveries_per_s": n / drain_s,
        "requests_per_s": attempts / drain_s,
        "delivered": c["delivered"],
        "dead": c["dead"],
        "duplicates_dropped": rx.duplicates,
        "attempts": attempts,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--fail-rate", type=float, default=0.3)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--max-attempts", type=int, default=5)
    ap.add_argument("--skip-postgres", action="store_true")
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="outbox-bench-"))
    ws = base / "ws"
    init_workspace(ws)
    (ws / NOTIFICATIONS_FILE).write_text(
        yaml.safe_dump(
            {
                # millisecond backoff: the benchmark measures the relay, not the waiting
                "retry": {
                    "max_attempts": args.max_attempts,
                    "base_delay_s": 0.001,
                    "max_delay_s": 0.01,
                },
                "delivery": {"batch_size": 200, "concurrency": 8, "timeout_s": 5, "lease_s": 120},
            }
        )
    )
    pg = None
    stack = contextlib.ExitStack()  # the PostgreSQL server and the workspace, deleted at the end
    stack.callback(shutil.rmtree, base, ignore_errors=True)
    configs = [("sqlite", 1)]
    if not args.skip_postgres:
        pg = stack.enter_context(temporary_server("outbox-bench-pg-"))
        configs += [("postgres", 1), ("postgres", 2)]
    print(
        f"outbox: {args.n:,} deliveries, receiver fails {args.fail_rate:.0%} of requests, "
        f"max {args.max_attempts} attempts; median of {args.repeat} (2-core machine, shared, under load)"
    )
    results: dict[str, dict] = {}
    try:
        for backend, workers in configs:
            runs = []
            for r in range(args.repeat):
                url = (
                    f"sqlite:///{base / f'bench-{r}.db'}"
                    if backend == "sqlite"
                    else pg.create_database()  # type: ignore[union-attr]
                )
                runs.append(run_once(ws, url, args.n, args.fail_rate, workers, seed=r))
            name = f"{backend}, {workers} worker{'s' if workers > 1 else ''}"
            med = {k: statistics.median(run[k] for run in runs) for k in runs[0]}
            results[name] = med
            print(
                f"  {name:<22} deliveries/s {med['deliveries_per_s']:>7.0f}   requests/s "
                f"{med['requests_per_s']:>7.0f}   enqueue/s {med['enqueue_per_s']:>7.0f}   "
                f"delivered {med['delivered']:>6.0f}  dead {med['dead']:>4.0f}  lost 0  "
                f"dupes dropped by receiver {med['duplicates_dropped']:.0f}"
            )
    finally:
        stack.close()
    first = next(iter(results.values()))["deliveries_per_s"]
    for name, med in list(results.items())[1:]:
        print(f"  ratio {name} / sqlite: {med['deliveries_per_s'] / first:.2f}x")


if __name__ == "__main__":
    main()
