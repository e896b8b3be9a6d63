"""Batch benchmark: N generated leads through the whole pipeline into a fresh SQLite workspace.

    .venv/bin/python bench/pipeline_batch.py --rows 1000000

Prints wall time, rows/s, CPU per row of the writer (this process) and of the worker processes,
the load average (the machine is shared: CPU figures are the steadier ones) and peak memory (RSS
of the writer and its workers, sampled during the ingest). Target (issue 2): 1,000,000 leads in
≤ 60 s on a 2-core machine. `--workers 1` runs the one-process path for comparison.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

from marketops.sample import write_csv
from marketops.services.context import AppContext
from marketops.services.ingest import ingest_file
from marketops.workspace import Workspace
from marketops.workspace.scaffold import init_workspace


def cpu_s() -> tuple[float, float]:
    """CPU seconds (user + system) of this process and of its finished children (workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


class PeakMemory:
    """Peak RSS while the ingest runs, sampled every 0.2 s: this process (the writer) and its
    workers together. `ru_maxrss` would also count generating the sample file."""

    def __init__(self) -> None:
        self.writer = self.together = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.2):
            try:
                own = me.memory_info().rss
                kids = sum(c.memory_info().rss for c in me.children(recursive=True))
            except psutil.Error:
                continue
            self.writer = max(self.writer, own)
            self.together = max(self.together, own + kids)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--batch-size", type=int, default=5000)
    ap.add_argument(
        "--commit-rows", type=int, default=None, help="rows per write transaction (SQLite)"
    )
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--workers", type=int, default=None, help="worker processes (default: cores)")
    args = ap.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="marketops-bench-"))
    ws_dir = base / "ws"
    init_workspace(ws_dir, force=True)
    (ws_dir / "marketops.db").unlink(missing_ok=True)
    sample = base / f"leads-{args.rows}.csv"
    if not sample.exists():
        t = time.perf_counter()
        write_csv(sample, args.rows, seed=1, now=datetime(2026, 11, 1, tzinfo=UTC))
        print(f"generated {args.rows:,} rows in {time.perf_counter() - t:.1f} s -> {sample}")
    ctx = AppContext.open(Workspace.load(ws_dir))
    # the previous run's store (~3 GB written) may still be going out to disk: let the kernel
    # finish that first, so back-to-back runs each time their own ingest, not the last one's
    os.sync()
    load0 = os.getloadavg()
    t = time.perf_counter()
    cpu0 = cpu_s()
    with PeakMemory() as mem:
        stats = ingest_file(
            ctx,
            sample,
            batch_size=args.batch_size,
            workers=args.workers,
            commit_rows=args.commit_rows,
        )
    wall = time.perf_counter() - t
    cpu1 = cpu_s()
    writer, workers = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    print(f"rows            {stats.rows:,}")
    print(
        f"accepted        {stats.accepted:,}  updated {stats.updated:,}  "
        f"quarantined {stats.quarantined:,}"
    )
    print(f"wall            {wall:.1f} s   ({stats.rows / wall:,.0f} rows/s)")
    per_row = 1e6 / max(stats.rows, 1)
    print(
        f"cpu             writer {writer:.1f} s ({writer * per_row:.0f} µs/row), "
        f"workers {workers:.1f} s ({workers * per_row:.0f} µs/row), "
        f"total {(writer + workers) * per_row:.0f} µs/row"
    )
    print(
        f"load average    {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min) at the "
        f"end; 1 min {load0[0]:.2f} at the start"
    )
    print(
        f"peak memory     {mem.together / 2**20:,.0f} MB (writer {mem.writer / 2**20:,.0f} MB "
        "+ workers), RSS sampled during the ingest"
    )
    print(
        f"target          ≤ 60 s for 1,000,000 rows: "
        f"{'met' if wall * 1_000_000 / max(stats.rows, 1) <= 60 else 'NOT met'} "
        f"(extrapolated {wall * 1_000_000 / max(stats.rows, 1):.0f} s)"
    )


if __name__ == "__main__":
    main()
