"""The batch workers' side alone: `batch_worker.speculate` over N generated rows in one process.

    .venv/bin/python bench/pipeline_workers.py --rows 200000

Prints the CPU per row (`time.process_time`) of a first pass over the whole file (every phone
number parsed once: cold) and of a second pass over its last `--warm` rows (answers cached),
and the load average. One process, so no executor and no second worker: this is `speculate`'s
own cost, as the stage functions and staging make it; `pipeline_batch.py` measures the run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from marketops.sample import write_csv
from marketops.services import batch_worker, ingest
from marketops.services.context import AppContext
from marketops.workspace import Workspace
from marketops.workspace.scaffold import init_workspace


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--warm", type=int, default=40_000, help="rows of the second pass")
    ap.add_argument("--batch-size", type=int, default=5000)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="marketops-bench-"))
    ws_dir = base / "ws"
    if not ws_dir.exists():
        init_workspace(ws_dir, force=True)
    sample = base / f"leads-{args.rows}.csv"
    if not sample.exists():
        write_csv(sample, args.rows, seed=1, now=datetime(2026, 11, 1, tzinfo=UTC))
    ctx = AppContext.open(Workspace.load(ws_dir))
    setup = ingest._setup(ctx, ctx.suppression_index(max_age_s=0), sample.name, "bench")
    with (
        tempfile.TemporaryDirectory() as stage,
        sample.open(newline="", encoding="utf-8-sig") as fh,
        ingest._bulk_gc(),  # the collector as a batch ingest sets it
    ):
        setup.stage_dir = stage
        setup.csv_header, rows = ingest.csv_lists(fh)
        names = [h.strip() for h in setup.csv_header]
        setup.email_at = names.index("email") if "email" in names else -1
        numbered = list(enumerate(rows, 1))
        size = args.batch_size
        chunks = [numbered[i : i + size] for i in range(0, len(numbered), size)]
        marker = batch_worker.RepeatMarker(setup)
        marks = [marker(c) for c in chunks]
        now = datetime.now(UTC)
        load0 = os.getloadavg()[0]

        def run(part: list[int]) -> float:
            t = time.process_time()
            for k in part:
                _, _, path, _ = batch_worker.speculate(setup, chunks[k], now, *marks[k])
                if path:
                    os.remove(path)
            return (time.process_time() - t) / sum(len(chunks[k]) for k in part) * 1e6

        cold = run(list(range(len(chunks))))
        last = [k for k in range(len(chunks)) if k * size >= len(numbered) - args.warm]
        warm = run(last)
    print(f"rows            {len(numbered):,} in chunks of {size:,}")
    print(f"cold pass       {cold:.1f} µs/row (CPU; every distinct phone number parsed once)")
    print(f"warm pass       {warm:.1f} µs/row (CPU; the last {args.warm:,} rows again)")
    print(f"load average    1 min {load0:.2f} at the start, {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
