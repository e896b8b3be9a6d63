"""Benchmark: dashboard page latency over real HTTP, the scorecard build, chart rendering beside a
peer, and the cost of a password check.

1. Pages: a workspace with N sample leads (default 10,000) ingested, a real `marketops serve`
   (uvicorn, SQLite), signed in; each page fetched R times, median and p90 in ms.
2. Scorecard: `build_scorecard` in-process, median of R.
3. Charts: the same 12-bar chart and 6-row horizontal bar chart as our inline SVG
   (`reports.charts`) and as matplotlib's SVG backend (the usual Python peer); median time per
   chart and the size of the markup, with the ratio.
4. scrypt at the stored parameters (N=2^17, r=8, p=1): the time a sign-in costs.

Run: .venv/bin/python bench/web_pages.py [N] [R]
"""

from __future__ import annotations

import io
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

PAGES = [
    "",
    "/attribution",
    "/health",
    "/slas",
    "/routing",
    "/backlog",
    "/quarantine",
    "/stack",
    "/scorecard",
]
PASSWORD = "bench passphrase 123"


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def pct(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))]


def setup(root: Path, n: int) -> None:
    from marketops.sample import write_csv
    from marketops.services.context import AppContext
    from marketops.services.ingest import ingest_file
    from marketops.web.auth import UserService
    from marketops.workspace import Workspace
    from marketops.workspace.scaffold import init_workspace

    init_workspace(root)
    ctx = AppContext.open(Workspace.load(root))
    csv = write_csv(root / "sample.csv", n)
    ingest_file(ctx, csv, workers=1)
    UserService(ctx.engine).create("bench", PASSWORD, datetime.now(UTC))
    ctx.close()


def bench_pages(root: Path, repeat: int) -> None:
    from marketops.testing.server import start_server, stop_server

    server = start_server(root, {"MARKETOPS_SECRET_KEY": "bench"})
    try:
        c = httpx.Client(base_url=server.base_url, timeout=120)
        page = c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        t = time.perf_counter()
        r = c.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token})
        assert r.status_code == 303, r.text
        print(f"sign-in (POST /login, one scrypt check): {(time.perf_counter() - t) * 1000:.0f} ms")
        print(f"{'page':<26}{'median ms':>10}{'p90 ms':>9}")
        for path in PAGES:
            url = "/dashboard" + path
            assert c.get(url).status_code == 200  # warm: imports, caches
            xs = timed(lambda url=url: c.get(url).raise_for_status(), repeat)
            print(f"{url:<26}{statistics.median(xs):>10.1f}{pct(xs, 0.9):>9.1f}")
    finally:
        stop_server(server)


def bench_scorecard(root: Path, repeat: int) -> None:
    from marketops.reports.scorecard import build_scorecard
    from marketops.services.context import AppContext
    from marketops.workspace import Workspace

    ctx = AppContext.open(Workspace.load(root))
    now = datetime.now(UTC)
    html = build_scorecard(ctx, now)
    xs = timed(lambda: build_scorecard(ctx, now), repeat)
    print(f"scorecard build: median {statistics.median(xs):.0f} ms, {len(html):,} bytes")
    ctx.close()


def bench_charts(repeat: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from marketops.reports import charts

    weeks = [(f"w{i}", float(7 + (i * 37) % 23)) for i in range(12)]
    rows = [
        ("Known", 10000.0),
        ("MQL", 1200.0),
        ("SAL", 600.0),
        ("SQL", 250.0),
        ("Opp", 90.0),
        ("Won", 30.0),
    ]

    def ours() -> str:
        return charts.vbar(weeks, "MQLs per week") + charts.hbar(rows, "Funnel")

    def mpl() -> str:
        out = []
        for kind, data in (("v", weeks), ("h", rows)):
            fig, ax = plt.subplots(figsize=(6.4, 2.4))
            labels, values = zip(*data, strict=True)
            (ax.bar if kind == "v" else ax.barh)(labels, values)
            buf = io.StringIO()
            fig.savefig(buf, format="svg")
            plt.close(fig)
            out.append(buf.getvalue())
        return "".join(out)

    mpl()  # warm (font cache)
    a, b = timed(ours, repeat * 10), timed(mpl, repeat)
    ma, mb = statistics.median(a), statistics.median(b)
    print(
        f"charts (12-bar + 6-row): ours {ma:.3f} ms, {len(ours()):,} bytes | "
        f"matplotlib svg {mb:.1f} ms, {len(mpl()):,} bytes | ours is {mb / ma:.0f}x faster, "
        f"{len(mpl()) / len(ours()):.0f}x smaller"
    )


def bench_scrypt() -> None:
    from marketops.web.auth import hash_password, verify_password

    stored = hash_password(PASSWORD)
    xs = timed(lambda: verify_password(stored, PASSWORD), 5)
    print(f"scrypt verify (N=2^17, r=8, p=1): median {statistics.median(xs):.0f} ms")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    print(f"web dashboard benchmark: {n:,} sample leads, {repeat} runs per figure (SQLite)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        t = time.perf_counter()
        setup(root, n)
        print(f"setup (init + ingest): {time.perf_counter() - t:.1f} s")
        bench_pages(root, repeat)
        bench_scorecard(root, max(3, repeat // 2))
    bench_charts(repeat)
    bench_scrypt()


if __name__ == "__main__":
    main()
