"""Batch ingestion of lead files (CSV, JSON lines, Parquet), resumable after a crash.

Each chunk is decided and written in one transaction together with the file's checkpoint, so a
crash loses at most the chunk in flight and a re-run starts after the last committed row: nothing
lost, nothing twice. A file that finished is recognised by its SHA-256 and not ingested again.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import hashlib
import json
import multiprocessing
import os
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from marketops.errors import MarketopsError, Problem
from marketops.pipeline.runner import CompiledConfig, Outcome, Prepared
from marketops.services import batch_stage, batch_worker
from marketops.services.batch_commit import Part, StoreEmails, Tally, commit_chunks
from marketops.services.batch_worker import BAD_LINE, Setup, csv_row, prepare_row
from marketops.services.capture import Batch, capture
from marketops.services.context import AppContext
from marketops.store.db import checkpoint_behind
from marketops.store.schema import ingest_runs

FORMATS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
}


def tally_of(outcomes: list[Outcome]) -> list[Tally]:
    """What the summary counts of each decided record."""
    tally: list[Tally] = []
    for o in outcomes:
        if o.status == "quarantined":
            reasons = [f"{i.field}: {i.rule}" for i in o.issues if i.severity == "error"]
            tally.append(("quarantined", False, None, False, reasons))
            continue
        a = o.assignment
        routed = (a.queue or f"owner:{a.owner}") if a is not None else None
        moved = o.stage == "MQL" and any(k == "stage" for k, _, _ in o.events)
        tally.append((o.status, o.suppressed, routed, moved, []))
    return tally


_HEAD, _REASONS = itemgetter(0, 1, 2, 3), itemgetter(4)  # a `Tally`'s counted part, its reasons


@dataclass
class IngestStats:
    rows: int = 0
    accepted: int = 0
    updated: int = 0
    quarantined: int = 0
    quarantine_reasons: Counter[str] = field(default_factory=Counter)
    routed: Counter[str] = field(default_factory=Counter)
    suppressed: int = 0
    mql: int = 0
    resumed_from: int = 0
    already_done: bool = False

    def add(self, outcomes: list[Outcome]) -> None:
        self.add_tally(tally_of(outcomes))

    def add_tally(self, tally: list[Tally]) -> None:
        """Counted by distinct (status, suppressed, routed, moved): a chunk has a few dozen, and
        the batch writer adds a million records' tallies (a Python loop a record: ~0.8 µs)."""
        self.quarantine_reasons.update(chain.from_iterable(map(_REASONS, tally)))
        for (status, suppressed, routed, moved), n in Counter(map(_HEAD, tally)).items():
            self.rows += n
            if status == "quarantined":
                self.quarantined += n
                continue
            if status == "accepted":
                self.accepted += n
            else:
                self.updated += n
            if suppressed:
                self.suppressed += n
            if routed is not None:
                self.routed[routed] += n
            if moved:
                self.mql += n

    def take_counts(self, other: IngestStats) -> None:
        """`other`'s counts (a checkpoint's summary: these counts plus the tallies it wrote)."""
        for k in ("rows", "accepted", "updated", "quarantined", "suppressed", "mql"):
            setattr(self, k, getattr(other, k))
        self.quarantine_reasons = Counter(other.quarantine_reasons)
        self.routed = Counter(other.routed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "accepted": self.accepted,
            "updated": self.updated,
            "quarantined": self.quarantined,
            "suppressed": self.suppressed,
            "mql": self.mql,
            "quarantine_reasons": dict(self.quarantine_reasons),
            "routed": dict(self.routed),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> IngestStats:
        s = cls(
            **{
                k: d.get(k, 0)
                for k in ("rows", "accepted", "updated", "quarantined", "suppressed", "mql")
            }
        )
        s.quarantine_reasons = Counter(d.get("quarantine_reasons", {}))
        s.routed = Counter(d.get("routed", {}))
        return s


def fingerprint(path: Path) -> tuple[str, int]:
    """SHA-256 of the bytes and a line count (for the progress bar)."""
    h = hashlib.sha256()
    lines = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
            lines += chunk.count(b"\n")
    return h.hexdigest(), lines


def file_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise MarketopsError(
            f"cannot read {path}",
            [
                Problem(
                    str(path),
                    f"unsupported file type {path.suffix!r}",
                    "use .csv, .jsonl/.ndjson or .parquet",
                )
            ],
        )
    return fmt


def csv_lists(fh: Any) -> tuple[list[str], Iterator[list[str]]]:
    """The header and the rows of an open CSV file as lists (blank lines skipped, as
    `csv.DictReader` does); `csv_row` makes each a record."""
    reader = csv.reader(fh)
    return next(reader, []), (r for r in reader if r)


def csv_records(fh: Any) -> tuple[list[str], Iterator[str]]:
    """The header and each record's text (its line, or its lines when a quoted value spans
    several) of an open CSV file, blank lines skipped as `csv_lists` skips them: the workers
    parse the texts (`batch_worker.csv_list_of`), so the reader only finds where records end.

    A line without a `"` is a record by itself; a line with one is handed to `csv.reader`, which
    takes exactly the lines its record needs (a quote inside an unquoted value is text to it, so
    counting quotes would not do)."""
    lines = iter(fh)
    header = next(csv.reader(lines), [])

    def records() -> Iterator[str]:
        for line in lines:
            if '"' not in line:
                if line.rstrip("\r\n"):
                    yield line
                continue
            taken = [line]

            def more(first: str = line, taken: list[str] = taken) -> Iterator[str]:
                yield first
                for nxt in lines:
                    taken.append(nxt)
                    yield nxt

            if next(csv.reader(more()), []):
                yield "".join(taken)

    return header, records()


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    """Rows as dicts, in file order. A JSON line that does not parse yields a marker row."""
    fmt = file_format(path)
    if fmt == "csv":
        with path.open(newline="", encoding="utf-8-sig") as fh:
            header, rows = csv_lists(fh)
            for row in rows:
                yield csv_row(header, row)
    elif fmt == "jsonl":
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield {BAD_LINE: line.rstrip("\n"), "_reason": f"not valid JSON: {exc}"}
                    continue
                yield (
                    obj
                    if isinstance(obj, dict)
                    else {BAD_LINE: line.rstrip("\n"), "_reason": "line is not a JSON object"}
                )
    else:
        import pyarrow.parquet as pq

        for rb in pq.ParquetFile(path).iter_batches(batch_size=10_000):
            yield from rb.to_pylist()


_prepare = prepare_row

# rows per write transaction with workers on SQLite (`commit_chunks`): each commit rewrites the
# random index pages (emails, domains) its rows touched; a group of chunks shares them. A group's
# pages must fit the writer's page cache (`store.db.CACHE_KIB_BULK`), or they spill mid-way.
COMMIT_ROWS = 40_000


Chunk = list[tuple[int, dict[str, Any]]]


def _chunks(rows: Iterator[Any], done: int, size: int) -> Iterator[Chunk]:
    chunk: Chunk = []
    for n, raw in enumerate(rows, start=1):
        if n <= done:
            continue
        chunk.append((n, raw))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


_WORKER_CFG: CompiledConfig | None = None


def _worker_init(root: str) -> None:
    global _WORKER_CFG
    from marketops.workspace import Workspace

    _WORKER_CFG = CompiledConfig.from_workspace(Workspace.load(root))


def _worker_prepare(chunk: Chunk, now: datetime) -> list[Prepared]:
    assert _WORKER_CFG is not None
    return [_prepare(r, _WORKER_CFG, now) for _, r in chunk]


def _prepared(
    ctx: AppContext, chunks: Iterator[Chunk], clock: Callable[[], datetime], workers: int | None
) -> Iterator[tuple[Chunk, datetime, list[Prepared]]]:
    """Validate + normalize chunks, in order; in worker processes when asked.

    The pure stages are CPU-bound and independent per record, so worker processes run them
    ahead while this process decides and writes earlier chunks (the store has one writer).
    """
    if not workers or workers < 2:
        for chunk in chunks:
            t = clock()
            yield chunk, t, [_prepare(r, ctx.config, t) for _, r in chunk]
        return
    yield from _ahead(
        chunks, clock, workers - 1, _worker_init, str(ctx.workspace.root), _worker_prepare
    )


@dataclass
class Tail:
    """Set by `_ahead` before each answer it hands out. `waits`: the next answer is not there
    yet. The writer then writes what it holds instead of waiting for a full group: at the end of
    a file the workers have nothing left to do, and a whole group written alone (~2 s at 40,000
    rows) is time the other core idles; at its start the writer would sit out the first group
    (~2.5 s at a million rows). `submitted`: every chunk has gone to the workers."""

    waits: bool = False
    submitted: bool = False


def _ahead(
    chunks: Iterator[Chunk],
    clock: Callable[[], datetime],
    workers: int,
    init: Callable[[Any], None],
    init_arg: Any,
    work: Callable[[Chunk, datetime], Any],
    ahead: int = 0,
    tail: Tail | None = None,
) -> Iterator[tuple[Chunk, datetime, Any]]:
    """`work(chunk, now)` in forked worker processes, answers in chunk order, the workers up to
    `workers + 1 + ahead` chunks ahead of the caller (which writes them). `tail`: see `Tail`."""
    with ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=init,
        initargs=(init_arg,),
    ) as pool:
        pending: deque[tuple[Chunk, datetime, Future[Any]]] = deque()
        for chunk in chunks:
            t = clock()
            pending.append((chunk, t, pool.submit(work, chunk, t)))
            if len(pending) > workers + ahead:
                c, tt, fut = pending.popleft()
                result = fut.result()
                if tail is not None:
                    tail.waits = not pending[0][2].done()
                yield c, tt, result
        if tail is not None:
            tail.submitted = True
        while pending:
            c, tt, fut = pending.popleft()
            result = fut.result()
            if tail is not None:
                tail.waits = not pending or not pending[0][2].done()
            yield c, tt, result


@contextlib.contextmanager
def _bulk_gc() -> Iterator[None]:
    """Collect garbage as a bulk job should, restored afterwards.

    A chunk's records, rows and results are containers that live until the chunk is written;
    with CPython's default thresholds they trigger full collections over the whole heap again and
    again (a quarter of the workers' CPU, most of the unpickling cost in the writer). Freezing
    what exists before the workers fork (libraries, config) and collecting young objects less
    often removes that; nothing here builds reference cycles that need the collector.
    """
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


def _identity_realtime(ctx: AppContext) -> bool:
    """Real-time identity linking reads every decided lead: it keeps the one-process path."""
    from marketops.identity.service import config

    return bool(config(ctx).realtime)


def _setup(ctx: AppContext, suppression: Any, source: str, ref_prefix: str) -> Setup:
    from marketops.store.leads_repo import SlotAllocator

    with ctx.engine.connect() as conn:
        accounts = SlotAllocator(conn).accounts(ctx.config.routing)
    return Setup(
        ctx.config,
        suppression,
        ctx.enrichers,
        accounts,
        ctx.engine.dialect.name,
        source,
        ref_prefix,
    )


def _speculated(
    chunks: Iterator[Chunk],
    clock: Callable[[], datetime],
    workers: int,
    setup: Setup,
    ahead: int = 0,
    tail: Tail | None = None,
) -> Iterator[tuple[Chunk, datetime, batch_worker.Result]]:
    """Worker speculations per chunk (`batch_worker.speculate`), in order; each chunk travels
    with the positions of its possible repeats (`RepeatMarker`). `ahead`: chunks the workers may
    run beyond `workers + 1` (the writer takes a group of chunks, then writes them all);
    `tail`: see `Tail`."""
    mark = batch_worker.RepeatMarker(setup)
    marked = ((c, mark(c)) for c in chunks)
    for (chunk, _), t, result in _ahead(
        marked,
        clock,
        workers,
        batch_worker.init_worker,
        setup,
        batch_worker.speculate_in_worker,
        ahead,
        tail,
    ):
        yield chunk, t, result


def ingest_file(
    ctx: AppContext,
    path: Path,
    *,
    now: Callable[[], datetime] | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    commit_rows: int | None = None,
) -> IngestStats:
    """Ingest `path`; safe to re-run after a crash or on a finished file.

    `workers`: worker processes (default: all cores for files over 20,000 rows). With two or
    more, workers decide records speculatively and this process only writes (`batch_worker`,
    `batch_commit`); with real-time identity linking on, they only validate and normalize.
    `commit_rows`: with workers on SQLite, whole chunks are committed together up to about this
    many rows (default `COMMIT_ROWS`; at most `batch_stage.MAX_ATTACHED` chunks): a crash then
    loses at most that group, which a re-run writes again.
    """
    clock = now or (lambda: datetime.now(UTC))
    path = Path(path)
    file_format(path)
    digest, lines = fingerprint(path)
    batch_size = batch_size or ctx.workspace.settings.batch_size
    with ctx.engine.begin() as conn:
        run = conn.execute(select(ingest_runs).where(ingest_runs.c.fingerprint == digest)).first()
        if run is None:
            run_id = conn.execute(
                insert(ingest_runs)
                .values(
                    fingerprint=digest,
                    path=str(path.name),
                    rows_done=0,
                    status="running",
                    stats={},
                    started_at=clock(),
                )
                .returning(ingest_runs.c.id)
            ).scalar_one()
            done, stats = 0, IngestStats()
        else:
            run_id, done, stats = run.id, run.rows_done, IngestStats.from_dict(run.stats or {})
            if run.status == "done":
                stats.already_done = True
                return stats
    stats.resumed_from = done
    if workers is None:
        workers = (os.cpu_count() or 1) if lines - done > 20_000 else 1
    suppression = ctx.suppression_index(max_age_s=0)
    source = path.name
    chunks = _chunks(read_rows(path), done, batch_size)

    # the open transaction's tallies by last row: an attempt the store aborted and ran again
    # (`in_transaction`) replaces its tally, never adds it twice; `stats` takes them at commit
    # (the summary the checkpoint wrote: `after`, counted once)
    pending: dict[int, list[Tally]] = {}
    after: list[IngestStats] = []

    def checkpoint_at(last: int) -> Callable[[Any, list[Tally]], None]:
        def checkpoint(conn: Any, tally: list[Tally]) -> None:
            pending[last] = tally
            after[:] = [IngestStats.from_dict(stats.as_dict())]
            for t in pending.values():
                after[0].add_tally(t)
            conn.execute(
                update(ingest_runs)
                .where(ingest_runs.c.id == run_id)
                .values(rows_done=last, stats=after[0].as_dict())
            )

        return checkpoint

    def committed(write: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        pending.clear()
        after.clear()
        try:
            write(*args, **kwargs)
        except BaseException:
            pending.clear()  # the transaction rolled back: its tallies never happened
            raise
        if after:
            stats.take_counts(after[0])
        else:
            for t in pending.values():
                stats.add_tally(t)
        pending.clear()

    if workers >= 2 and not _identity_realtime(ctx):
        setup = _setup(ctx, suppression, source, digest[:16])
        with contextlib.ExitStack() as stack:
            stack.enter_context(_bulk_gc())
            if setup.dialect == "sqlite":  # workers stage rows in files (`batch_stage`)
                setup.stage_dir = stack.enter_context(batch_stage.stage_dir())
            if file_format(path) == "csv":  # rows travel to the workers as their text
                fh = stack.enter_context(path.open(newline="", encoding="utf-8-sig"))
                setup.csv_header, csv_rows = csv_records(fh)
                names = [h.strip() for h in setup.csv_header]
                setup.email_at = max((i for i, h in enumerate(names) if h == "email"), default=-1)
                chunks = _chunks(csv_rows, done, batch_size)
            group_rows = batch_size
            if setup.dialect == "sqlite":
                group_rows = max(commit_rows or COMMIT_ROWS, batch_size)
            group: list[Part] = []
            # one connection for the file: its page cache (`commit_chunks`) outlives each commit
            held = stack.enter_context(ctx.engine.connect()) if setup.dialect == "sqlite" else None
            # with the held connection, emails new to the store need no lookup (`StoreEmails`)
            emails = StoreEmails(max(lines - done, 0)) if held is not None else None
            # while the writer writes a group, the workers go on with the next one
            ahead = min(-(-group_rows // batch_size), batch_stage.MAX_ATTACHED)
            ahead = ahead if ahead > 1 else 0

            def flush() -> None:
                last = group[-1].chunk[-1][0]
                committed(
                    commit_chunks, ctx, setup, group, checkpoint_at(last), held=held, emails=emails
                )
                group.clear()
                if on_progress:
                    on_progress(last, lines)

            tail = Tail()
            behind: threading.Thread | None = None
            written = 0  # rows
            for chunk, t, result in _speculated(chunks, clock, workers, setup, ahead, tail):
                group.append(Part(chunk, t, *result))
                written += len(chunk)
                if tail.submitted and behind is None and held is not None:
                    # the WAL's pages go back into the file while the last chunks are written,
                    # not in the closing transaction's commit (`checkpoint_behind`)
                    behind = checkpoint_behind(ctx.engine)
                if (
                    sum(len(p.chunk) for p in group) >= group_rows
                    or len(group) >= batch_stage.MAX_ATTACHED
                    # early, with the next answer not in: only within the first group's rows
                    # (in between, small groups cost the writer more commits than it waits)
                    # and at the end
                    or (tail.waits and (tail.submitted or written <= group_rows))
                ):
                    flush()
            if group:
                flush()
            if behind is not None:
                behind.join()
    else:
        for chunk, t, prepared in _prepared(ctx, chunks, clock, workers):
            last = chunk[-1][0]
            checkpoint = checkpoint_at(last)
            committed(
                capture,
                ctx,
                Batch(
                    [r for _, r in chunk],
                    source,
                    [f"{digest[:16]}:{n}" for n, _ in chunk],
                    [n for n, _ in chunk],
                ),
                t,
                suppression=suppression,
                prepared=prepared,
                extra_writes=lambda conn, outcomes, cp=checkpoint: cp(conn, tally_of(outcomes)),
            )
            if on_progress:
                on_progress(last, lines)
    with ctx.engine.begin() as conn:
        conn.execute(
            update(ingest_runs)
            .where(ingest_runs.c.id == run_id)
            .values(status="done", finished_at=clock(), stats=stats.as_dict())
        )
    return stats
