"""Benchmark: GA4 default channel classification of 1,000,000 generated touchpoints.

Two workloads: "realistic" (sources, mediums and campaigns drawn with skewed weights from pools
like real traffic: many repeats) and "all distinct" (every row has its own campaign, so no memo
helps and every row runs the rules). Timed forms, median rows/s of several runs:

  classify()         the per-row function other modules call (LRU-cached compiled rules)
  classify_many()    the batch form (memo of distinct triples)
  classify_frame()   the DataFrame form (columns to lists, then the batch form)
  duckdb SQL         the peer: the same ruleset as one SQL CASE expression (how dbt-ga4 does it,
                     in SQL; here `classify_query`), run by DuckDB over the same rows, read from
                     a pandas frame, all cores

Every form's answers are checked against classify() before timing.
Run: .venv/bin/python bench/taxonomy_channels.py [N]
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable

import duckdb
import pandas as pd

from marketops.taxonomy.channels import classify, classify_many, default_ruleset
from marketops.taxonomy.channels_sql import classify_query
from marketops.taxonomy.ruleset import source_categories

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
REPEATS = 3

MEDIUMS = [
    "cpc",
    "organic",
    "referral",
    "email",
    "social",
    "(none)",
    "display",
    "cpm",
    "paid_social",
    "affiliate",
    "sms",
    "push",
    "video",
    "ppc",
    "retargeting",
    "banner",
    "newsletter",
    "Email",
    "CPC",
    "link",
    "app",
    "audio",
    "(not set)",
    "partner",
    "",
]


def touchpoints(n: int, distinct: bool, seed: int = 42) -> pd.DataFrame:
    """Realistic: 20,000 distinct triples drawn with Zipf-like weights (a few dominate, a long
    tail follows, as in a web-analytics export). Distinct: every row its own campaign."""
    rng = random.Random(seed)
    listed = sorted(s for cat in source_categories().values() for s in cat)
    sources = [
        "google",
        "(direct)",
        "facebook",
        "bing",
        "linkedin",
        "newsletter",
        "youtube",
        *rng.sample(listed, 300),
        *(f"site{i}.example" for i in range(300)),
        "",
    ]
    campaigns = [
        "",
        "brand",
        "cross-network-pmax",
        "spring_shop",
        "workshop",
        "2025-01_leads",
        *(
            f"2025-{m:02d}_{o}_{a}"
            for m in range(1, 13)
            for o in ("awareness", "leads", "retention")
            for a in ("smb", "ent")
        ),
    ]
    if distinct:
        return pd.DataFrame(
            {
                "source": rng.choices(sources, k=n),
                "medium": rng.choices(MEDIUMS, k=n),
                "campaign": [f"c{i}" for i in range(n)],
            }
        )
    pool: set[tuple[str, str, str]] = set()
    while len(pool) < 20_000:
        pool.add((rng.choice(sources), rng.choice(MEDIUMS), rng.choice(campaigns)))
    triples = sorted(pool)
    rng.shuffle(triples)
    rows = rng.choices(triples, [1 / (i + 1) for i in range(len(triples))], k=n)
    return pd.DataFrame(rows, columns=["source", "medium", "campaign"])


def median_rate(fn: Callable[[], object], n: int, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return n / statistics.median(times)


def main() -> None:
    rs = default_ruleset()
    sql = classify_query("t", rs)
    con = duckdb.connect()
    print(f"ruleset {rs.label}; {N:,} rows; median of {REPEATS} runs; duckdb {duckdb.__version__}")
    for workload, distinct in (("realistic", False), ("all distinct", True)):
        frame = touchpoints(N, distinct)
        s, m, c = (frame[k].tolist() for k in ("source", "medium", "campaign"))
        con.register("t", frame.assign(i=range(N)))
        expected = [classify(*row) for row in zip(s, m, c, strict=True)]
        assert classify_many(s, m, c) == expected
        assert rs.classify_frame(frame).tolist() == expected
        checked = con.execute(f"SELECT channel FROM ({sql}) ORDER BY i").df()["channel"]
        assert checked.tolist() == expected  # timed below without ORDER BY (a parallel scan)
        distinct_rows = len(set(zip(s, m, c, strict=True)))
        print(f"\n{workload}: {distinct_rows:,} distinct (source, medium, campaign)")

        def per_row(s: list = s, m: list = m, c: list = c) -> list[str]:
            rs._index.cache_clear()  # a cold cache each run: fair to the first pass
            return [classify(a, b, d) for a, b, d in zip(s, m, c, strict=True)]

        rates = {
            "classify() per row": median_rate(per_row, N),
            "classify_many()": median_rate(lambda s=s, m=m, c=c: classify_many(s, m, c), N),
            "classify_frame()": median_rate(lambda f=frame: rs.classify_frame(f), N),
            "duckdb SQL (peer)": median_rate(
                lambda: con.execute(f"SELECT channel FROM ({sql})").fetchnumpy(), N
            ),
        }
        peer = rates["duckdb SQL (peer)"]
        for name, rate in rates.items():
            print(f"  {name:<20} {rate:>14,.0f} rows/s   x{rate / peer:5.2f} vs duckdb")
        con.unregister("t")


if __name__ == "__main__":
    main()
