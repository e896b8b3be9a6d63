"""Journey scheduler benchmark: N people enter a 5-step nurture at once.

The nurture is email, wait 2d, email, wait 2d, email (five steps: three sends through the real
`send_email` policy checks and outbox, two waits). Time is a clock the benchmark moves: at entry,
then when each wait ends, the step job drains everything due and the wall time is measured.
Afterwards every person must have exactly five step records (no duplicate (enrolment, step,
attempt)), three outbox emails, and be `completed`: zero lost or duplicated steps.

The worker runs the `journeys.steps` job every STEP_INTERVAL_S (5 s); one call claims up to
`--limit` due people (runner.BATCH) and the worker calls it again at once while it finds work.
So "all steps due executed within the scheduler's tick" means: the back-to-back calls that
drain everything due at one instant finish within one interval. Per phase this prints the
steps, the calls it took, the drain time, steps/s and a plain yes/no against the interval, with
the load average at that moment; then the median steps/s and median drain over --repeat runs,
for SQLite and, with --postgres, PostgreSQL (a server started for the run).

    .venv/bin/python bench/journeys_tick.py [--n 100000] [--repeat 3] [--postgres] [--webhooks]
        [--limit 2000] [--workers 1] [--skip-sqlite] [--breakdown]

`--webhooks` swaps the three sends for outbox webhooks: the scheduler's own cost without the
per-person email policy checks (consent, suppression, frequency cap, quiet hours). Emails are
rendered when the outbox delivers them (docs/email.md), so neither variant renders in the tick.
`--workers N` drains each instant with N worker processes calling the step job side by side (on
PostgreSQL `FOR UPDATE SKIP LOCKED` gives each different people; SQLite serialises writers);
they are started before the clock moves and the drain is timed from their start signal.
Each phase also prints this process's CPU time per step (with one worker: the scheduler's
Python and, on SQLite, the database engine; PostgreSQL's server CPU is not in it), and with
`--breakdown` the wall time per step spent in each stage of the step path (`PARTS`).

No peer is run beside it: Mautic and similar tools schedule campaign events in cron batches
and publish no comparable per-step figure.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import func, insert, select

from marketops.journeys.jobs import STEP_INTERVAL_S
from marketops.journeys.runner import BATCH, step_tick
from marketops.journeys.triggers import Candidate, enrol_many
from marketops.journeys.versions import definition, publish
from marketops.services.context import AppContext
from marketops.store.schema import leads
from marketops.store.tables_journeys import journey_enrolments, journey_step_runs
from marketops.store.tables_notify import outbox
from marketops.testing.pgserver import temporary_server
from marketops.workspace import Workspace
from marketops.workspace.scaffold import init_workspace

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # noon UTC: outside quiet hours for UTC contacts
NURTURE = {
    "entry": {"event": "bench"},
    "steps": [
        {"id": "email-1", "send_email": {"template": "nurture_1"}},
        {"id": "wait-1", "wait": {"delay": "2d"}},
        {"id": "email-2", "send_email": {"template": "nurture_2"}},
        {"id": "wait-2", "wait": {"delay": "2d"}},
        {"id": "email-3", "send_email": {"template": "nurture_3"}},
    ],
}


# the step path's stages, timed per phase with --breakdown (wall time spent inside each)
PARTS = (
    ("marketops.journeys.runner", "_claim", "claim due enrolments"),
    ("marketops.journeys.runner", "read_leads", "read leads"),
    ("marketops.messaging.send", "_facts", "read email_sends (exactly-once, cap)"),
    ("marketops.messaging.send", "_Batch.decide", "decide (policy) and stage the outbox row"),
    ("marketops.notify.outbox", "enqueue_many", "write outbox rows, read their ids"),
    ("marketops.messaging.send", "_insert", "write email_sends"),
    ("marketops.journeys.runner", "_insert_runs", "write journey_step_runs"),
    ("marketops.journeys.runner", "_save", "update journey_enrolments"),
    ("sqlalchemy.engine.default", "DefaultDialect.do_commit", "commit"),
    ("marketops.journeys.runner", "checkpoint_now", "checkpoint the WAL at the drain's end"),
)
SPENT: dict[str, float] = {}


def _time_parts() -> None:
    """Wrap each of PARTS with a timer adding to SPENT (the bench's own instrumentation)."""
    import importlib

    for module, name, label in PARTS:
        owner: object = importlib.import_module(module)
        *path, attr = name.split(".")
        for p in path:
            owner = getattr(owner, p)
        fn = getattr(owner, attr)

        def timed(*a, _fn=fn, _label=label, **kw):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            try:
                return _fn(*a, **kw)
            finally:
                SPENT[_label] = SPENT.get(_label, 0.0) + time.perf_counter() - t

        setattr(owner, attr, timed)


def _people(ctx: AppContext, n: int, tag: str) -> list[str]:
    ids = [uuid.uuid4().hex for _ in range(n)]
    rows = [
        dict(
            id=i,
            email=f"p{k}-{tag}@bench.example",
            first_name=f"P{k}",
            lifecycle_stage="Known",
            consent={"email": True},
            attributes={},
            flags={},
            warnings=[],
            created_at=T0,
            updated_at=T0,
        )
        for k, i in enumerate(ids)
    ]
    with ctx.engine.begin() as conn:
        for s in range(0, n, 5000):
            conn.execute(insert(leads), rows[s : s + 5000])
    return ids


def _webhooks(body: dict) -> dict:
    steps = [
        {"id": s["id"], "webhook": {"url": "https://hooks.example/nurture"}}
        if "send_email" in s
        else s
        for s in body["steps"]
    ]
    return {**body, "steps": steps}


def _worker(workspace: str, url: str, now: datetime, limit: int, ready, start, out) -> None:  # type: ignore[no-untyped-def]
    """One `marketops worker`'s step job, called back to back until it finds nothing due."""
    os.environ["MARKETOPS_DATABASE_URL"] = url
    ctx = AppContext.open(Workspace.load(Path(workspace)))
    step_tick(ctx, now - timedelta(days=365), limit=limit)  # warm up: imports, connection
    ready.put(os.getpid())
    start.wait()
    c, calls = time.process_time(), 1
    while step_tick(ctx, now, limit=limit):
        calls += 1
    out.put((calls, time.process_time() - c))
    ctx.close()


def _drain_in_workers(
    workspace: Path, url: str, now: datetime, limit: int, workers: int
) -> tuple[float, int, float]:
    """(seconds, calls, CPU seconds of the workers) for N processes draining `now` together;
    whatever one of them left (it saw nothing it could lock) is finished here, in the time."""
    spawn = mp.get_context("spawn")
    ready, start, out = spawn.Queue(), spawn.Event(), spawn.Queue()
    procs = [
        spawn.Process(target=_worker, args=(str(workspace), url, now, limit, ready, start, out))
        for _ in range(workers)
    ]
    for p in procs:
        p.start()
    for _ in procs:  # each has imported, connected and run one empty tick
        ready.get()
    t = time.perf_counter()
    start.set()
    done = [out.get() for _ in procs]
    for p in procs:
        p.join()
    os.environ["MARKETOPS_DATABASE_URL"] = url
    ctx = AppContext.open(Workspace.load(workspace))
    calls = sum(c for c, _ in done)
    while step_tick(ctx, now, limit=limit):
        calls += 1
    ctx.close()
    return time.perf_counter() - t, calls, sum(cpu for _, cpu in done)


def run_once(
    workspace: Path,
    url: str,
    n: int,
    tag: str,
    webhooks: bool = False,
    limit: int = BATCH,
    workers: int = 1,
) -> dict:
    os.environ["MARKETOPS_DATABASE_URL"] = url
    ctx = AppContext.open(Workspace.load(workspace))
    name = f"nurture-{tag}"
    (workspace / "journeys").mkdir(exist_ok=True)
    (workspace / "journeys" / f"{name}.yml").write_text(
        yaml.safe_dump(_webhooks(NURTURE) if webhooks else NURTURE, sort_keys=False)
    )
    publish(ctx, name, now=T0)
    ids = _people(ctx, n, tag)
    t = time.perf_counter()
    with ctx.engine.begin() as conn:
        j = definition(conn, name, 1)
        entered = enrol_many(conn, name, j, 1, [Candidate(i, f"{name}:{i}") for i in ids], T0)
    enrol_s = time.perf_counter() - t
    assert entered == n, entered
    phases = []
    total_steps = total_s = 0.0
    for label, now in (
        ("entry: send 1", T0),
        ("day 2: wait 1, send 2", T0 + timedelta(days=2)),
        ("day 4: wait 2, send 3", T0 + timedelta(days=4)),
    ):
        with ctx.engine.connect() as conn:
            before = conn.execute(select(func.count()).select_from(journey_step_runs)).scalar_one()
        SPENT.clear()
        if workers > 1:
            secs, calls, cpu = _drain_in_workers(workspace, url, now, limit, workers)
        else:
            t, c = time.perf_counter(), time.process_time()
            calls = 1
            while step_tick(ctx, now, limit=limit):  # the worker's back-to-back calls in one tick
                calls += 1
            secs, cpu = time.perf_counter() - t, time.process_time() - c
        with ctx.engine.connect() as conn:
            after = conn.execute(select(func.count()).select_from(journey_step_runs)).scalar_one()
        steps = after - before
        phases.append((label, steps, secs, calls, os.getloadavg()[0], cpu, dict(SPENT)))
        total_steps += steps
        total_s += secs
    with ctx.engine.connect() as conn:
        runs = conn.execute(
            select(func.count())
            .select_from(journey_step_runs)
            .where(journey_step_runs.c.journey == name)
        ).scalar_one()
        distinct = conn.execute(
            select(func.count()).select_from(
                select(journey_step_runs.c.enrolment_id, journey_step_runs.c.step)
                .where(journey_step_runs.c.journey == name)
                .distinct()
                .subquery()
            )
        ).scalar_one()
        done = conn.execute(
            select(func.count()).where(
                journey_enrolments.c.journey == name, journey_enrolments.c.status == "completed"
            )
        ).scalar_one()
        sent = conn.execute(  # each run has its own database: every outbox row is this run's
            select(func.count()).where(outbox.c.channel == ("webhook" if webhooks else "email"))
        ).scalar_one()
    ctx.close()
    lost = 5 * n - distinct
    duplicated = runs - distinct
    assert (lost, duplicated, done, sent) == (0, 0, n, 3 * n), (lost, duplicated, done, sent)
    return {"enrol_s": enrol_s, "phases": phases, "steps": total_steps, "seconds": total_s}


def bench(
    label: str,
    workspace: Path,
    url_for,  # type: ignore[no-untyped-def]
    n: int,
    repeat: int,
    webhooks: bool,
    limit: int,
    workers: int,
) -> dict:
    rates, drains = [], []
    for r in range(repeat):
        out = run_once(workspace, url_for(r), n, f"{label}{r}", webhooks, limit, workers)
        rate = out["steps"] / out["seconds"]
        rates.append(rate)
        print(f"{label} run {r + 1}: {n:,} people enrolled in {out['enrol_s']:.2f} s")
        for name, steps, secs, calls, load, cpu, spent in out["phases"]:
            fits = "yes" if secs <= STEP_INTERVAL_S else "no"
            print(
                f"  {name:<24} {steps:>9,.0f} steps, {calls:>4} calls, drained in {secs:7.2f} s"
                f" = {steps / secs:7,.0f} steps/s; within one {STEP_INTERVAL_S:g} s tick: {fits}"
                f"  (CPU {cpu / steps * 1e6:.0f} µs/step)  [load {load:.2f}]"
            )
            for part, t in sorted(spent.items(), key=lambda kv: -kv[1]):
                print(f"      {t / steps * 1e6:6.1f} µs/step  {part}")
            if spent:
                rest = secs - sum(spent.values())
                print(f"      {rest / steps * 1e6:6.1f} µs/step  the rest: walks, rounds, glue")
        drains.append(max(p[2] for p in out["phases"]))
        print(f"  all: {out['steps']:,.0f} steps, 0 lost, 0 duplicated, {rate:,.0f} steps/s")
    med = statistics.median(rates)
    worst = statistics.median(drains)  # each run's slowest phase
    print(
        f"{label}: median {med:,.0f} steps/s over {repeat} run(s); slowest phase drains in"
        f" {worst:.1f} s (median) against the {STEP_INTERVAL_S:g} s tick"
        f"   [load: {os.getloadavg()[0]:.2f}]"
    )
    return {"rate": med, "drain": worst, "load": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--postgres", action="store_true")
    ap.add_argument("--skip-sqlite", action="store_true")
    ap.add_argument("--webhooks", action="store_true", help="webhooks instead of emails")
    ap.add_argument("--limit", type=int, default=BATCH, help="people claimed per step-job call")
    ap.add_argument("--workers", type=int, default=1, help="worker processes draining together")
    ap.add_argument(
        "--breakdown", action="store_true", help="µs per step by stage (one worker; adds a little)"
    )
    args = ap.parse_args()
    if args.breakdown:
        _time_parts()
    # SIGTERM/SIGINT unwind through `finally`, so the PostgreSQL server started here is stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
    os.environ.setdefault("MARKETOPS_SECRET_KEY", "bench-unsubscribe-key-0123456789abcdef")
    with tempfile.TemporaryDirectory(prefix="marketops-jbench-") as tmp:
        base = Path(tmp)
        ws = base / "ws"
        init_workspace(ws)
        results = {}
        if not args.skip_sqlite:
            results["SQLite"] = bench(
                "SQLite",
                ws,
                lambda r: f"sqlite:///{base / f'store{r}.db'}",
                args.n,
                args.repeat,
                args.webhooks,
                args.limit,
                args.workers,
            )
        if args.postgres:
            with temporary_server() as pg:
                results["PostgreSQL"] = bench(
                    "PostgreSQL",
                    ws,
                    lambda r: pg.create_database(),
                    args.n,
                    args.repeat,
                    args.webhooks,
                    args.limit,
                    args.workers,
                )
        kind = "webhook" if args.webhooks else "email"
        print(
            f"summary ({kind} nurture, {args.n:,} people, {args.limit:,} a call,"
            f" {args.workers} worker(s)): "
            + ", ".join(
                f"{k} {v['rate']:,.0f} steps/s, slowest phase {v['drain']:.1f} s"
                f" [load {v['load']:.2f}]"
                for k, v in results.items()
            )
        )
        fit = all(v["drain"] <= STEP_INTERVAL_S for v in results.values())
        print(
            f"all steps due at once executed within one {STEP_INTERVAL_S:g} s scheduler tick: "
            + ("yes" if fit else "no (the worker keeps calling the job back to back until done)")
        )


if __name__ == "__main__":
    main()
