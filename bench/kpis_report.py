"""KPI report and event ingestion, timed (medians). Peer: the same cohort conversion written
directly in pandas, side by side with our Ibis/DuckDB expression.

    .venv/bin/python bench/kpis_report.py [--leads 200000] [--events 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from marketops.analytics.attribution.schema import SCHEMAS
from marketops.analytics.engines import connect
from marketops.analytics.kpis.config import KpisConfig
from marketops.analytics.kpis.funnel import stage_counts
from marketops.analytics.kpis.period import parse_period
from marketops.analytics.kpis.service import compute
from marketops.events.analytics import KPI_SCHEMAS, put_kpi_tables

FUNNEL = ["Known", "MQL", "SAL", "SQL", "Opportunity", "Customer"]
T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 31, tzinfo=UTC)
CHANNELS = ["Paid Search", "Email", "Organic Search", "Paid Social", "Direct", "Referral"]


def _table(name: str, cols: dict) -> pa.Table:
    schema = (SCHEMAS | KPI_SCHEMAS)[name].to_pyarrow()
    return pa.table({f.name: pa.array(cols[f.name], type=f.type) for f in schema}, schema=schema)


def world(n: int, seed: int = 0) -> dict[str, pa.Table]:
    """n leads walking the funnel with 60 % step conversion, 2 touches each, opportunities."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"L{i}" for i in range(n)])
    start = rng.uniform(0, 330, n)
    lead, stage, at = [], [], []
    alive = np.ones(n, bool)
    t = start.copy()
    for s in FUNNEL:
        idx = np.flatnonzero(alive)
        lead.append(ids[idx])
        stage.append(np.full(len(idx), s))
        at.append(t[idx])
        alive &= rng.random(n) < 0.6
        t = t + rng.exponential(7, n)
    days = np.concatenate(at)
    se = {
        "lead_id": np.concatenate(lead),
        "stage": np.concatenate(stage),
        "at": (pd.to_datetime(T0) + pd.to_timedelta(days, unit="D")).floor("us"),
    }
    person = np.repeat(ids, 2)
    ts = pd.to_datetime(T0) + pd.to_timedelta(np.repeat(start, 2) - rng.uniform(0, 30, 2 * n), "D")
    ts = ts.floor("us")
    ch = np.array(CHANNELS)[rng.integers(0, len(CHANNELS), 2 * n)]
    tp = {
        "person_id": person,
        "ts": ts,
        "channel": ch,
        "source": ch,
        "medium": ch,
        "campaign": np.array([f"c{i}" for i in range(50)])[rng.integers(0, 50, 2 * n)],
        "content": [None] * (2 * n),
        "touch_type": ["visit"] * (2 * n),
    }
    m = n // 10
    created = (pd.to_datetime(T0) + pd.to_timedelta(rng.uniform(0, 330, m), "D")).floor("us")
    status = np.array(["open", "won", "lost"])[rng.integers(0, 3, m)]
    closed = [
        c + timedelta(days=30) if s != "open" else None
        for c, s in zip(created, status, strict=True)
    ]
    amount = [Decimal(int(a)) for a in rng.integers(1000, 50000, m)]
    op = {
        "opportunity_id": [f"O{i}" for i in range(m)],
        "person_id": ids[:m],
        "created_at": created,
        "closed_at": closed,
        "status": status,
        "amount": amount,
    }
    won = status == "won"
    conv = {
        "conversion_id": [f"w{i}" for i in np.flatnonzero(won)],
        "person_id": ids[:m][won],
        "ts": [closed[i] for i in np.flatnonzero(won)],
        "kind": ["closed_won"] * int(won.sum()),
        "amount": [amount[i] for i in np.flatnonzero(won)],
        "won": [True] * int(won.sum()),
    }
    days_c = pd.date_range("2026-01-01", "2026-12-31").date
    costs = {
        "day": np.repeat(days_c, 5),
        "campaign": [f"c{i}" for i in range(5)] * len(days_c),
        "channel": ["Paid Search", "Paid Social", "Email", "Display", "Paid Search"] * len(days_c),
        "spend": [Decimal("100.00")] * (5 * len(days_c)),
    }
    return {
        "stage_entries": _table("stage_entries", se),
        "touchpoints": _table("touchpoints", tp),
        "opportunities": _table("opportunities", op),
        "conversions": _table("conversions", conv),
        "costs": _table("costs", costs),
    }


def pandas_cohort(se: pd.DataFrame, p) -> dict[int, int]:
    """The peer: cohort conversion (first entries, reached any later stage) in plain pandas."""
    rank = {s: i for i, s in enumerate(FUNNEL)}
    fe = se.groupby(["lead_id", "stage"], as_index=False)["at"].min()
    fe["rank"] = fe.stage.map(rank)
    a = fe[(fe["at"] >= p.start) & (fe["at"] < p.end)]
    r = fe[fe["at"] <= NOW]
    j = a.merge(r, on="lead_id", suffixes=("", "_r"))
    j = j[(j["rank_r"] > j["rank"]) & (j["at_r"] >= j["at"])]
    return j.drop_duplicates(["lead_id", "rank"]).groupby("rank").size().to_dict()


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def bench_ingest(n: int, repeat: int) -> None:
    from marketops.events.service import ingest
    from marketops.services.context import AppContext
    from marketops.workspace import Workspace
    from marketops.workspace.scaffold import init_workspace

    url = "https://x.example.com/?utm_source=google&utm_medium=cpc&utm_campaign=brand"
    rates = []
    for r in range(repeat):
        root = Path(tempfile.mkdtemp()) / "ws"
        init_workspace(root)
        os.environ["MARKETOPS_DATABASE_URL"] = f"sqlite:///{root / 'bench.db'}"
        ctx = AppContext.open(Workspace.load(root))
        evs = [
            {
                "type": "page",
                "messageId": f"{r}-{i}",
                "anonymousId": f"a{i % 997}",
                "timestamp": "2026-10-01T10:00:00Z",
                "properties": {"url": url},
            }
            for i in range(n)
        ]
        t = time.perf_counter()
        for s in range(0, n, 1000):
            ingest(ctx, evs[s : s + 1000], source="bench", now=NOW)
        rates.append(n / (time.perf_counter() - t))
        ctx.close()
    print(
        f"ingest (SQLite, batches of 1000 page events): median {statistics.median(rates):,.0f} events/s"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--leads", type=int, default=200_000)
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    tables = world(args.leads)
    print(
        f"{args.leads:,} leads, {tables['stage_entries'].num_rows:,} stage entries, "
        f"{tables['touchpoints'].num_rows:,} touchpoints, {tables['opportunities'].num_rows:,} opportunities"
    )
    con = connect()
    put_kpi_tables(con, tables)
    cfg = KpisConfig.model_validate({"clv": {"churn_rate": 0.02}})
    period = parse_period("2026-Q2", NOW)
    full, report = timed(lambda: compute(con, cfg, FUNNEL, "MQL", period, NOW), args.repeat)
    print(f"full KPI report on DuckDB ({len(report.kpis)} KPIs): median {full:.2f} s")
    ours, got = timed(
        lambda: stage_counts(con.table("stage_entries"), FUNNEL, period, NOW), args.repeat
    )
    se = tables["stage_entries"].to_pandas()
    peer, want = timed(lambda: pandas_cohort(se, period), args.repeat)
    assert got["converted"] == {int(k): int(v) for k, v in want.items()}
    print(
        f"cohort conversion: Ibis/DuckDB median {ours:.3f} s, pandas median {peer:.3f} s, "
        f"pandas/ours = {peer / ours:.1f}x"
    )
    bench_ingest(args.events, args.repeat)


if __name__ == "__main__":
    main()
