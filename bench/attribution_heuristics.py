"""Benchmark: every heuristic model on N touchpoints (default 10,000,000), DuckDB via Ibis.

Side by side with ChannelAttribution's heuristic_models (first/last/linear) where it is installed;
its input (distinct paths) is built in DuckDB and that time is counted for it.

    .venv/bin/python bench/attribution_heuristics.py [--touchpoints 10000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time

from attribution_common import NOW, import_peer, median_time, peer_paths, world_engine
from marketops.analytics.attribution import HEURISTICS, AttributionConfig, attribute


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--touchpoints", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--engine", default=None, help="Ibis engine URL (default: DuckDB in memory)")
    args = ap.parse_args()
    con, _ = world_engine(args.touchpoints, url=args.engine)
    cfg = AttributionConfig(kinds=["closed_won"], models=list(HEURISTICS))

    def ours(models: list[str]) -> float:
        c = cfg.model_copy(update={"models": models})
        return median_time(lambda: attribute(con, c, NOW, with_coverage=False), args.repeat)[0]

    all_s = ours(list(HEURISTICS))
    print(f"all {len(HEURISTICS)} heuristic models: median {all_s:.2f} s (target <= 10 s)")
    for m in HEURISTICS:
        print(f"  {m:<16} {ours([m]):6.2f} s")
    cov_s, _ = median_time(
        lambda: attribute(con, cfg.model_copy(update={"models": ["linear"]}), NOW), args.repeat
    )
    print(f"linear + coverage: {cov_s:.2f} s")
    three = ours(["first_touch", "last_touch", "linear"])
    print(f"first/last/linear (what the peer computes): {three:.2f} s")
    ca = import_peer()
    if ca is None:
        return
    t = time.perf_counter()
    paths = peer_paths(con, cfg, with_null=False)
    path_s = time.perf_counter() - t

    def peer() -> object:
        with contextlib.redirect_stdout(io.StringIO()):
            return ca.heuristic_models(
                paths,
                "path",
                "total_conversions",
                var_value="total_conversion_value",
                sep=">",
                flg_pro=False,
            )

    peer_s, _ = median_time(peer, args.repeat)
    print(
        f"ChannelAttribution.heuristic_models: {peer_s:.2f} s on {len(paths):,} distinct paths "
        f"+ {path_s:.2f} s to build them = {peer_s + path_s:.2f} s"
    )
    print(f"ratio peer / ours (first/last/linear): {(peer_s + path_s) / three:.2f}x")


if __name__ == "__main__":
    main()
