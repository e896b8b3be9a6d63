"""A behavioural segment over 1,000,000 contacts and 10,000,000 activities on DuckDB.

    .venv/bin/python bench/segments_eval.py [--contacts 1000000] [--activities 10000000] [--runs 5]

Generates seeded contacts and activities straight into Parquet (not through the lead pipeline),
then, in a fresh process (so peak memory is the evaluation's own), evaluates

    pricing_page at least 3 times in 30 days AND lifecycle_stage not Customer AND fit_score >= 50

with the segment SQL generator (`marketops.segments.sql`, the batch path of `segment recompute`):
once over tables loaded into DuckDB, once straight over the Parquet files. Prints the median and
range of several runs, the member count, the load time and peak RSS. Then checks the result
against the pure Python evaluator on 5,000 sampled contacts. Issue 9 target: <= 5 s.

Peer: Mautic reports 20-40 minutes for segments of 260k-400k contacts in its own issue tracker;
Mautic (PHP + MySQL) is not installable from the package sources this project uses, so no
side-by-side run.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TYPES = [
    "page_view",
    "email_open",
    "email_click",
    "pricing_page",
    "form_fill",
    "webinar",
    "demo_request",
    "support_ticket_opened",
]
WEIGHTS = [0.40, 0.20, 0.08, 0.12, 0.08, 0.05, 0.02, 0.05]
STAGES = ["Known", "MQL", "SAL", "SQL", "Opportunity", "Customer", "Nurture", "Disqualified"]
STAGE_WEIGHTS = [0.45, 0.12, 0.04, 0.04, 0.03, 0.12, 0.15, 0.05]
RULE = {
    "all": [
        {"activity": {"type": "pricing_page", "at_least": 3, "within_days": 30}},
        {"not": {"field": "lifecycle_stage", "equals": "Customer"}},
        {"field": "fit_score", "gte": 50},
    ]
}


def _peak_mb() -> float:
    """Peak RSS of this process (Linux reports KiB): the evaluation runs in a fresh one."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ids(idx, pa, pc):  # -> pa.Array of "C0000001"-style ids
    return pc.binary_join_element_wise(
        pa.scalar("C"), pc.utf8_lpad(pc.cast(pa.array(idx), pa.string()), 7, "0"), ""
    )


def generate(out: Path, contacts: int, n_acts: int, seed: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from marketops.segments.load import empty_tables

    rng = np.random.default_rng(seed)
    schemas = {k: v.to_pyarrow() for k, v in empty_tables(set()).items()}
    lead_schema = schemas["seg_leads"]
    cols = {f.name: pa.nulls(contacts, f.type) for f in lead_schema}
    cols["id"] = _ids(np.arange(contacts), pa, pc)
    cols["lifecycle_stage"] = pa.array(
        np.array(STAGES)[rng.choice(len(STAGES), contacts, p=STAGE_WEIGHTS)]
    )
    cols["fit_score"] = pa.array(rng.integers(0, 101, contacts).astype("float64"))
    cols["engagement_score"] = pa.array(rng.integers(0, 61, contacts).astype("float64"))
    cols["identity_size"] = pa.array(np.ones(contacts, dtype="int64"))
    cols["suppressed"] = pa.array(np.zeros(contacts, dtype=bool))
    pq.write_table(pa.table(cols, schema=lead_schema), out / "leads.parquet")

    writer = pq.ParquetWriter(out / "activities.parquet", schemas["seg_activities"])
    end = np.datetime64(NOW.replace(tzinfo=None), "us")
    day_us = 24 * 3600 * 1_000_000
    year_us = 365 * day_us
    chunk = 1_000_000
    for done in range(0, n_acts, chunk):
        n = min(chunk, n_acts - done)
        # half the activity comes from an engaged 5% of contacts, the rest from anyone
        engaged = rng.random(n) < 0.5
        who = np.where(
            engaged, rng.integers(0, max(1, contacts // 20), n), rng.integers(0, contacts, n)
        )
        types = np.array(TYPES)[rng.choice(len(TYPES), n, p=WEIGHTS)]
        # recent activity is more common: exponential ages (mean 90 days), capped at a year
        age = np.minimum(rng.exponential(90 * day_us, n), year_us - 1).astype("int64")
        when = end - age.astype("timedelta64[us]")
        writer.write_table(
            pa.table(
                {
                    "lead_id": _ids(who, pa, pc),
                    "type": pa.array(types),
                    "occurred_at": pa.array(when),
                },
                schema=schemas["seg_activities"],
            )
        )
    writer.close()


def evaluate(data: Path, runs: int) -> None:
    import ibis

    from marketops.segments.config import SegmentDef
    from marketops.segments.load import empty_tables
    from marketops.segments.sql import members

    definition = SegmentDef.model_validate({"name": "hot-pricing", "rule": RULE})
    con = ibis.duckdb.connect()
    empty = {k: v.to_pyarrow() for k, v in empty_tables(set()).items()}
    for name in ("seg_lists", "seg_opportunities"):
        con.create_table(name, empty[name].empty_table())

    def timed(label: str) -> int:
        times, count = [], 0
        for _ in range(runs):
            t = time.perf_counter()
            ids = con.to_pyarrow(members(con, definition, NOW)).column("id")
            times.append(time.perf_counter() - t)
            count = len(ids)
        print(
            f"{label}: median {statistics.median(times):.2f} s (min {min(times):.2f}, max "
            f"{max(times):.2f}, {runs} runs), {count:,} members"
        )
        return count

    t = time.perf_counter()
    con.raw_sql(f"CREATE VIEW seg_leads AS SELECT * FROM read_parquet('{data / 'leads.parquet'}')")
    con.raw_sql(
        f"CREATE VIEW seg_activities AS SELECT * FROM read_parquet('{data / 'activities.parquet'}')"
    )
    timed("over Parquet files      ")
    for name in ("seg_leads", "seg_activities"):
        con.raw_sql(f"CREATE TABLE {name}_t AS SELECT * FROM {name}")
        con.raw_sql(f"DROP VIEW {name}")
        con.raw_sql(f"ALTER TABLE {name}_t RENAME TO {name}")
    print(
        f"load into DuckDB tables : {time.perf_counter() - t:.2f} s (once; includes the Parquet runs)"
    )
    count = timed("over DuckDB tables      ")
    print(f"peak RSS (evaluation process): {_peak_mb():,.0f} MB")
    check(con, definition, count)


def check(con, definition, count: int) -> None:
    """The pure Python evaluator on 5,000 sampled contacts (half of them members) must agree with the SQL result."""
    from marketops.segments.rules import evaluate as py_evaluate

    rng = random.Random(9)
    total = con.table("seg_leads").count().execute()
    members_now = set(con.to_pyarrow(members_of(con, definition)).column("id").to_pylist())
    picked = rng.sample(sorted(members_now), min(2500, len(members_now)))
    sample = picked + [f"C{i:07d}" for i in rng.sample(range(total), 2500)]
    leads = con.table("seg_leads").filter(lambda t: t.id.isin(sample)).to_pyarrow().to_pylist()
    acts = (
        con.table("seg_activities")
        .filter(lambda t: t.lead_id.isin(sample))
        .to_pyarrow()
        .to_pylist()
    )
    by_lead: dict[str, list] = {}
    for a in acts:
        by_lead.setdefault(a["lead_id"], []).append(
            {"type": a["type"], "occurred_at": a["occurred_at"].replace(tzinfo=UTC)}
        )
    wrong = sum(
        py_evaluate(definition, lead, by_lead.get(lead["id"], []), NOW)
        != (lead["id"] in members_now)
        for lead in leads
    )
    print(
        f"check: Python evaluator vs SQL on {len(leads):,} sampled contacts: {wrong} disagreement(s); members {count:,}"
    )


def members_of(con, definition):
    from marketops.segments.sql import members

    return members(con, definition, NOW)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--contacts", type=int, default=1_000_000)
    ap.add_argument("--activities", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument(
        "--data", type=Path, default=Path(tempfile.gettempdir()) / "marketops-bench-segments"
    )
    ap.add_argument("--eval-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    data = args.data / f"{args.contacts}x{args.activities}-s{args.seed}"
    if args.eval_only:
        evaluate(data, args.runs)
        return
    if not (data / "activities.parquet").exists():
        data.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        generate(data, args.contacts, args.activities, args.seed)
        print(
            f"generated {args.contacts:,} contacts, {args.activities:,} activities in {time.perf_counter() - t:.1f} s"
        )
    print(
        f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}; cores: {os.cpu_count()}"
    )
    subprocess.run([sys.executable, __file__, *sys.argv[1:], "--eval-only"], check=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
