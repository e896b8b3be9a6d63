"""The batch writer's CPU alone: worker speculations replayed into `commit_chunks`.

    .venv/bin/python bench/pipeline_writer.py --rows 200000 [--runs 3] [--profile OUT]

The workers' side (`batch_worker.speculate`, stage files) runs once, in this process, over the
first `--rows` records of the generated sample (the file `bench/pipeline_batch.py --dir` keeps,
or one generated here); the results are pickled and unpickled as they travel in an ingest. Then
each run writes them into a fresh SQLite store as `ingest_file` does (groups of `COMMIT_ROWS`
rows on one held connection, the summary's tallies, the bulk collector settings) and prints the
writer's CPU per row: the serial path's figure without the workers competing for the cores.
The reader's share (finding records' ends, repeat marks) is timed separately. Prints medians.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import os
import pickle
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from marketops.sample import write_csv
from marketops.services import batch_stage, batch_worker, ingest
from marketops.services.batch_commit import Part, StoreEmails, commit_chunks
from marketops.services.context import AppContext
from marketops.services.ingest import COMMIT_ROWS, IngestStats, _bulk_gc, _chunks, csv_records
from marketops.workspace import Workspace
from marketops.workspace.scaffold import init_workspace


def _workspace(base: Path) -> AppContext:
    ws = base / "ws-writer"
    init_workspace(ws, force=True)
    for suffix in ("", "-wal", "-shm"):
        (ws / f"marketops.db{suffix}").unlink(missing_ok=True)
    return AppContext.open(Workspace.load(ws))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--batch-size", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=None, help="holds leads-<N>.csv (any N ≥ rows)")
    ap.add_argument("--profile", type=Path, default=None, help="cProfile the last run to OUT")
    ap.add_argument(
        "--look-up-all", action="store_true", help="every email looked up (no `StoreEmails`)"
    )
    args = ap.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="marketops-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    have = sorted(
        (p for p in base.glob("leads-*.csv") if int(p.stem.split("-")[1]) >= args.rows),
        key=lambda p: int(p.stem.split("-")[1]),
    )
    sample = have[0] if have else base / f"leads-{args.rows}.csv"
    if not have:
        write_csv(sample, args.rows, seed=1, now=datetime(2026, 11, 1, tzinfo=UTC))

    ctx = _workspace(base)
    setup = ingest._setup(ctx, ctx.suppression_index(max_age_s=0), sample.name, "0123456789abcdef")
    stage_dir = tempfile.mkdtemp(prefix="marketops-writer-bench-")
    pristine = Path(stage_dir) / "pristine"
    pristine.mkdir()
    setup.stage_dir = stage_dir
    with _bulk_gc(), sample.open(newline="", encoding="utf-8-sig") as fh:
        t = time.process_time()
        setup.csv_header, records = csv_records(fh)
        names = [h.strip() for h in setup.csv_header]
        setup.email_at = max((i for i, h in enumerate(names) if h == "email"), default=-1)
        mark = batch_worker.RepeatMarker(setup)
        chunks = [(c, mark(c)) for c in _chunks(itertools.islice(records, args.rows), 0, 5000)]
        reader = time.process_time() - t
        batch_worker._SETUP = setup  # as a forked worker holds it
        results: list[tuple[Any, datetime, bytes]] = []
        for chunk, marks in chunks:
            now = datetime.now(UTC)
            r = batch_worker.speculate_in_worker((chunk, marks), now)
            shutil.copy(r[2], pristine / os.path.basename(r[2]))
            os.remove(r[2])
            results.append((chunk, now, pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL)))
    rows = sum(len(c) for c, _, _ in results)
    print(f"rows            {rows:,} (from {sample.name}), chunks of {args.batch_size:,}")
    print(f"reader          {reader / rows * 1e6:.1f} µs/row (records' ends, repeat marks)")

    figures: list[float] = []
    for run in range(args.runs):
        ctx.engine.dispose()
        ctx = _workspace(base)
        for f in pristine.iterdir():
            shutil.copy(f, Path(stage_dir) / f.name)
        parts = [(c, t, pickle.loads(b)) for c, t, b in results]
        stats = IngestStats()
        emails = None if args.look_up_all else StoreEmails(rows)
        prof = cProfile.Profile() if args.profile and run == args.runs - 1 else None
        with _bulk_gc(), ctx.engine.connect() as held:
            t = time.process_time()
            if prof:
                prof.enable()
            group: list[Part] = []
            for k, (chunk, now, result) in enumerate(parts):
                group.append(Part(chunk, now, *result))
                if (
                    sum(len(p.chunk) for p in group) >= COMMIT_ROWS
                    or len(group) >= batch_stage.MAX_ATTACHED
                    or k == len(parts) - 1
                ):
                    stats.add_tally(commit_chunks(ctx, setup, group, held=held, emails=emails))
                    group = []
            if prof:
                prof.disable()
            figures.append((time.process_time() - t) / rows * 1e6)
        assert stats.rows == rows, (stats.rows, rows)
        print(
            f"run {run + 1}           writer {figures[-1]:.1f} µs/row CPU "
            f"(accepted {stats.accepted:,}, updated {stats.updated:,}, "
            f"quarantined {stats.quarantined:,})"
        )
        if prof:
            prof.dump_stats(args.profile)
    print(
        f"median          writer {statistics.median(figures):.1f} µs/row CPU over {args.runs} runs"
        f" (min {min(figures):.1f})"
    )
    print(f"load average    {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min)")
    shutil.rmtree(stage_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
