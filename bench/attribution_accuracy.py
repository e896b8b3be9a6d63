"""Accuracy: each model's mean absolute error of channel share against a simulated world whose
causal channel effects are known (marketops.analytics.simulate; additive lifts).

    .venv/bin/python bench/attribution_accuracy.py [--people 200000] [--seeds 3]
"""

from __future__ import annotations

import argparse
import statistics

from attribution_common import NOW
from marketops.analytics.attribution import ALL_MODELS, AttributionConfig, attribute, put_tables
from marketops.analytics.engines import connect
from marketops.analytics.simulate import simulate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=200_000)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    errors: dict[str, list[float]] = {m: [] for m in ALL_MODELS}
    for seed in range(args.seeds):
        world = simulate(args.people, seed=seed)
        con = connect()
        put_tables(con, {"touchpoints": world.touchpoints, "conversions": world.conversions})
        r = attribute(con, AttributionConfig(kinds=["closed_won"]), NOW, with_coverage=False)
        con.disconnect()
        for m in ALL_MODELS:
            share = {c.group: c.share for c in r.credits if c.model == m}
            errs = [abs(share.get(ch, 0.0) - true) for ch, true in world.true_share.items()]
            errors[m].append(sum(errs) / len(errs))
        print(
            f"seed {seed}: {world.touchpoints.num_rows:,} touchpoints, "
            f"{r.conversions_in_scope:,} conversions"
        )
    print(
        f"mean absolute error of channel share ({len(world.true_share)} channels, "
        f"mean over {args.seeds} worlds; lower is better)"
    )
    for m, e in sorted(errors.items(), key=lambda kv: statistics.mean(kv[1])):
        print(f"  {m:<16} {100 * statistics.mean(e):6.2f} pp")


if __name__ == "__main__":
    main()
