"""Real-time benchmark: POST /v1/leads against a running uvicorn on 127.0.0.1, open loop.

    .venv/bin/python bench/pipeline_realtime.py --rate 200 --seconds 60 --backend both

Requests are sent on a fixed schedule (not "as fast as answers come back"), so queueing shows up in
the latency figures. The load generator shares the 2 cores with the server, so it should be lean:
aiohttp (default) costs about a fifth of httpx's client CPU per request (`--client httpx` to compare);
the CPU each side spent per request is printed. Target (issue 2): 200 requests/s for 60 s with p50 ≤ 5 ms, p99 ≤ 25 ms and zero
errors, on SQLite and on PostgreSQL. Latency is measured by the client, end to end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from marketops.sample import generate
from marketops.services.context import AppContext
from marketops.testing.pgserver import temporary_server
from marketops.testing.server import start_server, stop_server
from marketops.workspace import Workspace
from marketops.workspace.scaffold import init_workspace


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def open_loop(post, bodies: list, rate: float) -> dict:
    """Warm up with 50 requests, then send the rest on a fixed schedule; `post(body)` returns the
    status code and raises OSError/TimeoutError (or the client's own errors) on a failed request."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    for b in bodies[:50]:  # warm up: imports, caches, connection pool
        await post(b)

    async def one(b) -> None:
        nonlocal errors
        t = time.perf_counter()
        try:
            status = await post(b)
        except Exception:  # any failed request (refused, reset, timeout) counts as an error
            errors += 1
            return
        latencies.append((time.perf_counter() - t) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
        if status >= 500:
            errors += 1

    start = time.perf_counter()
    tasks = []
    for i, b in enumerate(bodies[50:]):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(b)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    return {
        "latencies": latencies,
        "statuses": statuses,
        "errors": errors,
        "sent": len(bodies) - 50,
        "elapsed": elapsed,
    }


async def drive(
    base: str, token: str, payloads: list[dict], rate: float, client: str = "aiohttp"
) -> dict:
    if client == "httpx":
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(
            base_url=base, limits=limits, timeout=10, headers={"Authorization": f"Bearer {token}"}
        ) as hc:

            async def post_httpx(p: dict) -> int:
                return (await hc.post("/v1/leads", json=p)).status_code

            return await open_loop(post_httpx, payloads, rate)
    import aiohttp
    import orjson

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn = aiohttp.TCPConnector(limit=200)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(base, connector=conn, timeout=timeout, headers=headers) as ac:

        async def post_aiohttp(b: bytes) -> int:
            async with ac.post("/v1/leads", data=b) as r:
                await r.read()
                return r.status

        return await open_loop(post_aiohttp, [orjson.dumps(p) for p in payloads], rate)


def tree_cpu(pid: int) -> float:
    """user+system CPU of a process and its live children (uvicorn workers; PostgreSQL backends)."""
    import psutil

    total = 0.0
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


def run_backend(
    name: str,
    url: str | None,
    rate: float,
    seconds: float,
    client: str = "aiohttp",
    workers: int = 1,
    pg_pid: int | None = None,
) -> None:
    base_dir = Path(tempfile.mkdtemp(prefix=f"marketops-rt-{name}-"))
    ws = base_dir / "ws"
    init_workspace(ws)
    env = {"MARKETOPS_DATABASE_URL": url} if url else {}
    os.environ.update(env)
    ctx = AppContext.open(Workspace.load(ws))
    _, token = ctx.keys.create("bench", ["ingest"])
    ctx.close()
    n = int(rate * seconds) + 50
    now = datetime.now(UTC)
    payloads = [
        {k: v for k, v in row.items() if v not in ("", None)}
        for row in generate(n * 2, seed=5, now=now)
    ]
    payloads = [
        p
        for p in payloads
        if "@" in str(p.get("email", "")) and p.get("activity") != "carrier_pigeon"
    ][:n]
    server = start_server(ws, env, workers=workers)
    cpu0 = (tree_cpu(server.proc.pid), tree_cpu(pg_pid) if pg_pid else 0.0, time.process_time())
    try:
        result = asyncio.run(drive(server.base_url, token, payloads, rate, client))
    finally:
        cpu1 = (tree_cpu(server.proc.pid), tree_cpu(pg_pid) if pg_pid else 0.0, time.process_time())
        stop_server(server)
        for k in env:
            os.environ.pop(k, None)
    lat = result["latencies"]
    print(
        f"\n[{name}] {result['sent']:,} requests in {result['elapsed']:.1f} s "
        f"({result['sent'] / result['elapsed']:.0f} req/s offered {rate:.0f})"
    )
    print(f"  status codes  {dict(sorted(result['statuses'].items()))}   errors {result['errors']}")
    print(
        f"  latency ms    p50 {statistics.median(lat):.2f}   p95 {pct(lat, 95):.2f}   "
        f"p99 {pct(lat, 99):.2f}   max {max(lat):.2f}"
    )
    per = [(b - a) / len(payloads) * 1000 for a, b in zip(cpu0, cpu1, strict=True)]
    print(
        f"  cpu ms/req    server {per[0]:.2f}   postgres {per[1]:.2f}   "
        f"client ({client}) {per[2]:.2f}   load avg {os.getloadavg()[0]:.2f}"
    )
    print(
        f"  target        p50 ≤ 5 ms: {'met' if statistics.median(lat) <= 5 else 'NOT met'};"
        f" p99 ≤ 25 ms: {'met' if pct(lat, 99) <= 25 else 'NOT met'};"
        f" zero errors: {'met' if result['errors'] == 0 else 'NOT met'}"
    )
    shutil.rmtree(base_dir, ignore_errors=True)  # the run's workspace and SQLite store


PG_LOG = {
    "log_min_duration_statement": "10",
    "log_autovacuum_min_duration": "0",
    "log_checkpoints": "on",
    "log_line_prefix": "'%m '",
}


def print_pg_log(path: Path) -> None:
    """What PostgreSQL did that could explain a latency tail: slow statements, autovacuum and
    autoanalyze, checkpoints (from the server log `--pg-log` turned on)."""
    wanted = ("duration:", "automatic", "checkpoint")
    lines = [ln for ln in path.read_text().splitlines() if any(w in ln for w in wanted)]
    print(f"\n[postgres log] {len(lines)} slow statements / autovacuum / checkpoint lines")
    for ln in lines[:60]:
        print("  " + ln[:220])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--client", choices=["aiohttp", "httpx"], default="aiohttp")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument(
        "--pg-log",
        action="store_true",
        help="log PostgreSQL statements over 10 ms, autovacuum and checkpoints; print them after",
    )
    args = ap.parse_args()
    opts = {"client": args.client, "workers": args.workers}
    if args.backend in ("sqlite", "both"):
        run_backend("sqlite", None, args.rate, args.seconds, **opts)
    if args.backend in ("postgres", "both"):
        with temporary_server(settings=PG_LOG if args.pg_log else None) as pg:
            run_backend(
                "postgres", pg.create_database(), args.rate, args.seconds, **opts, pg_pid=pg.pid
            )
            if args.pg_log:
                pg.stop()  # the log is complete once the server is down
                print_pg_log(pg.log)


if __name__ == "__main__":
    main()
