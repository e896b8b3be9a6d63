"""Benchmark: experiment planning and analysis, side by side with scipy/statsmodels doing the same.

Run: .venv/bin/python bench/experiments_analysis.py [--users 1000000]
Prints medians of repeated runs; the ratio is ours / peer (below 1 means we are faster).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestIndPower
from statsmodels.stats.proportion import power_proportions_2indep

from marketops.ops.experiments import (
    PlanInput,
    SampleStat,
    analyze,
    compare,
    from_records,
    from_user_frame,
    load_file,
    plan,
)


def median_s(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def row(label: str, ours: float, peer: float | None = None, peer_label: str = "") -> None:
    text = f"{label:<48} ours {ours * 1e3:10.3f} ms"
    if peer is not None:
        text += f" | {peer_label:<34} {peer * 1e3:10.3f} ms | ratio {ours / peer:6.2f}"
    print(text)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    n, rep = args.users, args.repeat

    # planning: our pooled closed form vs statsmodels' numeric power inversion
    spec = PlanInput("proportion", 0.04, 0.1)

    def peer_prop() -> float:
        lo, hi = 2.0, 1e8
        for _ in range(60):  # bisection on statsmodels' power function
            mid = (lo + hi) / 2
            if power_proportions_2indep(0.004, 0.04, mid).power < 0.8:
                lo = mid
            else:
                hi = mid
        return hi

    row(
        "plan: proportion, pooled",
        median_s(lambda: plan(spec), 200),
        median_s(peer_prop, 20),
        "statsmodels power bisection",
    )
    mspec = PlanInput("mean", 50.0, 0.05, sd=80.0)
    row(
        "plan: mean, t-test",
        median_s(lambda: plan(mspec), 50),
        median_s(lambda: TTestIndPower().solve_power(0.03125, alpha=0.05, power=0.8), 50),
        "statsmodels TTestIndPower",
    )

    # one comparison from sufficient statistics vs scipy's Welch test from the same statistics
    a = SampleStat.from_sums(1396.87, 52377.9767, 3407)
    b = SampleStat.from_sums(2422.7, 134698.29, 3461)
    row(
        "compare: Welch from sufficient stats",
        median_s(lambda: compare(a, b, difference="absolute"), 2000),
        median_s(
            lambda: stats.ttest_ind_from_stats(
                b.mean, b.variance**0.5, b.n, a.mean, a.variance**0.5, a.n, equal_var=False
            ),
            2000,
        ),
        "scipy ttest_ind_from_stats",
    )

    # a readout from a warehouse: 2 variants x 10 metrics as counts, Holm across the goals
    count_rows = [
        {"variant": v, "metric": f"m{i}", "users": 50_000, "sum": 2_500 + 40 * i * j}
        for i in range(10)
        for j, v in enumerate(("control", "treatment"))
    ]
    data = from_records(count_rows)

    def peer_counts() -> object:
        pvals = []
        for i in range(10):
            a_, b_ = data.stats[f"m{i}"]["control"], data.stats[f"m{i}"]["treatment"]
            pvals.append(
                stats.ttest_ind_from_stats(
                    b_.mean,
                    b_.variance**0.5,
                    b_.n,
                    a_.mean,
                    a_.variance**0.5,
                    a_.n,
                    equal_var=False,
                ).pvalue
            )
        return multipletests(pvals, method="holm")

    row(
        "analyze: 10 metrics from counts, Holm",
        median_s(lambda: analyze(data), 50),
        median_s(peer_counts, 50),
        "scipy + statsmodels multipletests",
    )

    # per-user rows: n users, 2 variants, 1 binary + 2 continuous metrics
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "user_id": np.array([f"u{i}" for i in range(n)]),
            "variant": rng.choice(["control", "treatment"], n),
            "signup": rng.integers(0, 2, n),
            "revenue": rng.gamma(1.0, 20.0, n).round(2),
            "pages": rng.poisson(4, n),
        }
    )
    metric_cols = ["signup", "revenue", "pages"]

    def ours_frame() -> object:
        return analyze(from_user_frame(frame))

    def peer_frame() -> object:
        groups = {v: g for v, g in frame.groupby("variant")}
        return [
            stats.ttest_ind(groups["treatment"][m], groups["control"][m], equal_var=False)
            for m in metric_cols
        ]

    row(
        f"analyze: {n:,} per-user rows in memory",
        median_s(ours_frame, rep),
        median_s(peer_frame, rep),
        "pandas groupby + scipy ttest_ind",
    )
    no_ids = frame.drop(columns="user_id")
    row(
        "  same, without the duplicate-user_id check",
        median_s(lambda: analyze(from_user_frame(no_ids)), rep),
        median_s(peer_frame, rep),
        "pandas groupby + scipy ttest_ind",
    )

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "users.csv"
        frame.to_csv(path, index=False)

        def peer_csv() -> object:
            f = pd.read_csv(path)
            groups = {v: g for v, g in f.groupby("variant")}
            return [
                stats.ttest_ind(groups["treatment"][m], groups["control"][m], equal_var=False)
                for m in metric_cols
            ]

        row(
            f"analyze: {n:,} per-user rows from CSV (validated)",
            median_s(lambda: analyze(load_file(path)), rep),
            median_s(peer_csv, rep),
            "pandas read_csv + scipy (no checks)",
        )
    print(f"users={n:,} repeat={rep}; medians")


if __name__ == "__main__":
    main()
