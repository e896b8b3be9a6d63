"""Back-test benchmark: N stored leads replayed under the live and a changed scoring + routing
config (issue 6: 1,000,000 leads in ≤ 20 s).

    .venv/bin/python bench/backtest_1m.py --leads 1000000 [--dir DIR] [--repeat 3]

The store is filled once per --dir (leads and activities written straight into SQLite from the
seeded sample generator's field distributions, several touches per lead, 18 months of history);
later runs reuse it. Prints the median wall time of `run_backtest` with every core and with one,
and the same leads replayed by the plain reference loop (the pipeline's functions called touch by
touch, no memo) on a slice, extrapolated — the ratio is what the memoisation and the workers buy.
No other tool back-tests marketing rules, so there is no external peer to run side by side.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from marketops.governance.backtest import RuleSet, Tally
from marketops.governance.history import load_history
from marketops.governance.service import run_backtest
from marketops.pipeline.geo import country_code, region_of
from marketops.sample import generate
from marketops.services.context import AppContext
from marketops.workspace import Workspace
from marketops.workspace.scaffold import init_workspace

NOW = datetime(2026, 11, 1, tzinfo=UTC)
FREE = ("gmail.example", "yahoo.example")


def fill(ctx: AppContext, n: int, seed: int = 11) -> None:
    """N leads with 1-6 activities each, spread over 540 days (bulk, through the driver)."""
    rng = random.Random(seed)
    raw = ctx.engine.raw_connection()
    cur = raw.cursor()
    lead_sql = (
        "INSERT INTO leads (id, email, email_original, title, company, country, region, industry,"
        " employees, source, lifecycle_stage, fit_score, engagement_score, total_score,"
        " suppressed, flags, warnings, attributes, consent, created_at, updated_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    )
    act_sql = (
        "INSERT INTO activities (lead_id, type, occurred_at, source_ref, details)"
        " VALUES (?,?,?,?,?)"
    )
    leads, acts = [], []
    sample = generate(min(n, 200_000), seed)
    pool = [r for r in sample if r.get("email")]
    for i in range(n):
        r = pool[i % len(pool)]
        lead_id = f"{rng.getrandbits(128):032x}"
        cc = country_code(r.get("country") or None)
        try:
            employees = int(r.get("employees") or 0) or None
        except ValueError:
            employees = None
        start = NOW - timedelta(minutes=rng.randrange(0, 60 * 24 * 540))
        times = sorted(
            start + timedelta(minutes=rng.randrange(0, 60 * 24 * 60))
            for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 4, 6]))
        )
        free = rng.random() < 0.25
        for k, t in enumerate(times):
            acts.append(
                (
                    lead_id,
                    rng.choice(
                        ["form_fill", "content_download", "webinar", "pricing_page",
                         "demo_request", "event_visit", "contact_sales"]
                    ),
                    t.replace(tzinfo=None).isoformat(" ", "microseconds"),
                    f"{lead_id}:{k}",
                    orjson.dumps({"message": rng.choice([None, r.get("message")])}).decode(),
                )
            )  # fmt: skip
        leads.append(
            (
                lead_id, f"u{i}@{FREE[0] if free else 'corp.example'}", f"u{i}@x", r.get("title"),
                r.get("company"), cc, region_of(cc), r.get("industry") or None, employees,
                r.get("source"), "Known", 0, 0, 0, 1 if rng.random() < 0.02 else 0,
                orjson.dumps({"free_mail": free, "role_account": rng.random() < 0.05}).decode(),
                "[]", "{}", "{}",
                times[0].replace(tzinfo=None).isoformat(" ", "microseconds"),
                times[-1].replace(tzinfo=None).isoformat(" ", "microseconds"),
            )
        )  # fmt: skip
        if len(leads) >= 50_000:
            cur.execute("BEGIN")
            cur.executemany(lead_sql, leads)
            cur.executemany(act_sql, acts)
            cur.execute("COMMIT")
            leads, acts = [], []
    if leads:
        cur.execute("BEGIN")
        cur.executemany(lead_sql, leads)
        cur.executemany(act_sql, acts)
        cur.execute("COMMIT")
    cur.close()
    raw.close()


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the workers): on a shared machine
    the wall time says more about the neighbours than about the code."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def reference_rate(ws: Workspace, live: RuleSet, cand: RuleSet, ctx: AppContext) -> float:
    """Leads per CPU second of the plain loop (no memo, one process; loading not counted), on
    the first 20,000 leads."""
    sys.path.insert(0, str(Path(__file__).parent.parent / "tests" / "governance"))
    from governance_helpers import reference_replay

    with ctx.engine.connect() as conn:
        sample = []
        for lead in load_history(conn, since=None, until=NOW):
            sample.append(lead)
            if len(sample) >= 20_000:
                break
    started = cpu_seconds()
    for lead in sample:
        reference_replay(lead, live)
        reference_replay(lead, cand)
    return len(sample) / (cpu_seconds() - started)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--leads", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="marketops-backtest-"))
    ws_dir = base / f"ws-{args.leads}"
    fresh = not (ws_dir / "marketops.db").exists()
    if fresh:
        init_workspace(ws_dir, force=True)
    os.environ.pop("MARKETOPS_DATABASE_URL", None)
    ws = Workspace.load(ws_dir)
    ctx = AppContext.open(ws)
    if fresh:
        t = time.perf_counter()
        fill(ctx, args.leads)
        print(f"filled {args.leads:,} leads in {time.perf_counter() - t:.1f} s → {ws_dir}")
    live = RuleSet.compile(ws.scoring, ws.routing, ws.lifecycle)
    # the change: a stricter MQL bar, more weight on webinars, and a narrower hand-raiser rule
    scoring = ws.scoring.model_copy(deep=True)
    scoring.mql_threshold = 70
    for g in scoring.engagement:
        for r in g.rules:
            if r.activity == "webinar":
                r.points = 25
    routing = ws.routing.model_copy(deep=True)
    for rule in routing.rules:
        for c in rule.when:
            if c.contains_any:
                c.contains_any = ["pricing", "demo"]
    cand = RuleSet.compile(scoring, routing, ws.lifecycle)

    cores = os.cpu_count() or 1
    results: dict[int, list[float]] = {cores: [], 1: []}
    cpu: dict[int, list[float]] = {cores: [], 1: []}
    tally: Tally | None = None
    for _ in range(args.repeat):
        for workers in results:
            c = cpu_seconds()
            t = time.perf_counter()
            tally = run_backtest(ctx.engine, live, cand, since=None, until=NOW, workers=workers)
            results[workers].append(time.perf_counter() - t)
            cpu[workers].append(cpu_seconds() - c)
    assert tally is not None
    print(
        f"leads {tally.leads:,}, activities {tally.activities:,}; MQL live {tally.mql_live:,} →"
        f" candidate {tally.mql_candidate:,} (lost {len(tally.mql_lost):,},"
        f" gained {len(tally.mql_gained):,}); queue moves"
        f" {sum(n for (a, b), n in tally.moves.items() if a != b):,}"
    )
    for workers, times in results.items():
        med = statistics.median(times)
        print(
            f"run_backtest, {workers} process(es): median {med:.2f} s wall over {len(times)} runs"
            f" ({tally.leads / med:,.0f} leads/s); CPU {statistics.median(cpu[workers]):.1f} s"
            f" (all processes) → {statistics.median(cpu[workers]) / workers:.1f} s per core"
        )
    rate = reference_rate(ws, live, cand, ctx)
    ours = statistics.median(cpu[1])
    print(
        f"reference loop (pipeline functions touch by touch, no memo, replay only): {rate:,.0f}"
        f" leads per CPU s → {tally.leads / rate:.1f} CPU s extrapolated; run_backtest (load"
        f" included) {ours:.1f} CPU s: ratio {tally.leads / rate / ours:.1f}x"
    )
    print(f"machine: {cores} cores, load average {os.getloadavg()[0]:.1f} (shared with others)")
    ctx.close()


if __name__ == "__main__":
    main()
