"""Intake benchmarks: the priority formula, the MOPS metrics over many requests, and booking
launches on release trains in the store.

    .venv/bin/python bench/intake_bench.py [N_REQUESTS]

Prints medians of 5 runs. Peer for the formula: CPython's own `eval` of the same expression
compiled once (what an unsafe implementation would do); our checked AST walk is the safe version.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from marketops.ops.calendars import CalendarsFile, load_calendars
from marketops.ops.intake import Catalog, Formula
from marketops.ops.intake.metrics import Period, RequestRecord, mops_metrics

RUNS = 5
FORMULA = "impact * urgency / effort * (1 - 0.1 * (risk - 1))"


def median_time(fn, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_formula(n: int = 100_000) -> None:
    rng = random.Random(1)
    rows = [
        {
            "impact": rng.randint(1, 5),
            "urgency": rng.randint(1, 5),
            "effort": rng.randint(1, 5),
            "risk": rng.randint(1, 5),
        }
        for _ in range(n)
    ]
    ours = Formula(FORMULA, {"impact", "urgency", "effort", "risk"})
    code = compile(FORMULA, "<formula>", "eval")
    safe = median_time(lambda: [ours.evaluate(r) for r in rows])
    unsafe = median_time(lambda: [eval(code, {"__builtins__": {}}, r) for r in rows])
    print(f"priority formula, {n:,} evaluations (median of {RUNS}):")
    print(f"  marketops Formula (checked AST walk): {n / safe:>12,.0f} evals/s")
    print(
        f"  CPython eval of compiled code (unsafe): {n / unsafe:>10,.0f} evals/s"
        f"  -> eval is {safe / unsafe:.1f}x faster"
    )


def synthetic(n: int, rng: random.Random) -> list[RequestRecord]:
    start = dt.datetime(2026, 1, 5, 14, tzinfo=dt.UTC)
    path = ["triaged", "in_progress", "qa", "scheduled", "live", "done"]
    out = []
    for i in range(n):
        created = start + dt.timedelta(minutes=rng.randint(0, 300 * 24 * 60))
        at, state, moves = created, "new", [(created, None, "new")]
        launch = rng.random() < 0.4
        live_at = None
        for nxt in path[: rng.randint(0, len(path))]:
            if not launch and nxt in ("scheduled", "live"):
                continue
            if rng.random() < 0.2:
                at += dt.timedelta(hours=rng.uniform(1, 30))
                moves.append((at, state, "waiting_on_requester"))
                at += dt.timedelta(hours=rng.uniform(1, 30))
                moves.append((at, "waiting_on_requester", state))
            at += dt.timedelta(hours=rng.uniform(0.5, 40))
            moves.append((at, state, nxt))
            state = nxt
            if nxt == "live":
                live_at = at
        out.append(
            RequestRecord(
                id=i,
                type="t",
                class_=rng.choice(["simple", "standard", "complex"]),
                state=state,
                created_at=created,
                moves=tuple(moves),
                is_launch=launch,
                live_at=live_at,
                self_serve=rng.random() < 0.2,
                template="x" if rng.random() < 0.3 else None,
                templates_offered=rng.random() < 0.6,
            )
        )
    return out


def bench_metrics(n: int) -> None:
    root = Path(__file__).resolve().parents[1] / "src/marketops/workspace/templates"
    import yaml

    calendars = load_calendars(
        CalendarsFile.model_validate(yaml.safe_load((root / "calendars.yml").read_text()))
    )
    catalog = Catalog.model_validate(yaml.safe_load((root / "catalog.yml").read_text()))
    goals = {c: catalog.goals(c, calendars) for c in ("simple", "standard", "complex")}
    records = synthetic(n, random.Random(7))
    now = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    period = Period(since=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), until=now, now=now)
    cal = calendars[catalog.calendar]

    def run() -> None:
        mops_metrics(
            records, period=period, calendar_for=lambda c: cal, goals_for=goals.__getitem__
        )

    t = median_time(run)
    cycles = sum(len(r.moves) for r in records)
    print(
        f"MOPS metrics over {n:,} requests ({cycles:,} moves, 2 SLA goals each, New York "
        f"calendar with holidays; median of {RUNS}): {t * 1000:,.0f} ms, {n / t:,.0f} requests/s"
    )


def bench_booking(n: int = 60) -> None:
    import os

    from marketops.ops.launches import NewLaunch
    from marketops.ops.launches.usecases import schedule_launch
    from marketops.services.context import AppContext
    from marketops.workspace import Workspace
    from marketops.workspace.scaffold import init_workspace

    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        init_workspace(ws)
        os.environ.pop("MARKETOPS_DATABASE_URL", None)
        ctx = AppContext.open(Workspace.load(ws))
        after = dt.datetime(2026, 2, 2, 12, tzinfo=dt.UTC)
        times = []
        for i in range(n):
            t0 = time.perf_counter()
            schedule_launch(
                ctx, NewLaunch(name=f"l{i}", train="web", after=after), actor="bench", now=after
            )
            times.append(time.perf_counter() - t0)
        ctx.close()
    print(
        f"launch booking on SQLite (next web train with room, {n} bookings filling "
        f"{n // 3} windows): median {statistics.median(times) * 1000:.1f} ms per booking"
    )


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    bench_formula()
    bench_metrics(n)
    bench_booking()
