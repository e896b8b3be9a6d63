"""Benchmark: campaign-level Markov attribution (default 9 channels x 100 campaigns = ~900 states)
on N touchpoints (default 1,000,000), solved exactly; side by side with ChannelAttribution's
markov_model (Monte-Carlo) on the same paths, with the gap between their shares.

    .venv/bin/python bench/attribution_markov.py [--touchpoints 1000000] [--campaigns 100]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time

import numpy as np

from attribution_common import NOW, import_peer, median_time, peer_paths, world_engine
from marketops.analytics.attribution import AttributionConfig, attribute


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--touchpoints", type=int, default=1_000_000)
    ap.add_argument("--campaigns", type=int, default=100, help="campaigns per channel")
    ap.add_argument("--by", default="campaign", help="grouping level (campaign: ~900 states)")
    ap.add_argument("--order", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--peer-timeout", type=float, default=900.0, help="seconds (peer runs once)")
    args = ap.parse_args()
    con, _ = world_engine(args.touchpoints, campaigns=args.campaigns)
    cfg = AttributionConfig(
        kinds=["closed_won"], by=args.by, models=["markov"], markov_order=args.order
    )
    ours_s, result = median_time(lambda: attribute(con, cfg, NOW, with_coverage=False), args.repeat)
    mk = result.markov
    print(
        f"markov order {mk.order}: {mk.n_states:,} states, P(conversion) "
        f"{mk.conversion_probability:.4f}; median {ours_s:.2f} s (target <= 30 s)"
    )
    if import_peer() is None:
        return
    t = time.perf_counter()
    paths = peer_paths(con, cfg)
    path_s = time.perf_counter() - t

    peer_s, res = _peer_in_subprocess(paths, args.order, args.peer_timeout)
    if res is None:
        print(
            f"ChannelAttribution.markov_model did not finish within {args.peer_timeout:.0f} s "
            f"({len(paths):,} distinct paths): ratio peer / ours > "
            f"{(args.peer_timeout + path_s) / ours_s:.0f}x"
        )
        return
    total = res.total_conversions.sum()
    theirs = dict(zip(res.channel_name.str.strip(), res.total_conversions / total, strict=True))
    ours = {c.group: c.share for c in result.credits}
    keys = sorted(set(theirs) | set(ours))
    gap = np.abs([theirs.get(k, 0.0) - ours.get(k, 0.0) for k in keys])
    print(
        f"ChannelAttribution.markov_model (one run): {peer_s:.2f} s on {len(paths):,} distinct paths "
        f"+ {path_s:.2f} s to build them = {peer_s + path_s:.2f} s"
    )
    print(
        f"ratio peer / ours: {(peer_s + path_s) / ours_s:.2f}x; share gap (its simulation vs "
        f"exact): mean {gap.mean():.5f}, max {gap.max():.5f} over {len(keys)} campaigns"
    )


def _peer_job(paths, order, queue) -> None:
    import ChannelAttribution as ca

    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        out = ca.markov_model(
            paths,
            "path",
            "total_conversions",
            var_value="total_conversion_value",
            var_null="total_null",
            order=order,
            sep=">",
            ncore=1,
            verbose=False,
            flg_pro=False,
        )
    res = out["result"] if isinstance(out, dict) else out
    queue.put((time.perf_counter() - t, res))


def _peer_in_subprocess(paths, order: int, timeout: float):
    """The peer can take very long on many states; a child process lets us stop waiting."""
    import multiprocessing as mp

    queue = mp.Queue()
    proc = mp.Process(target=_peer_job, args=(paths, order, queue))
    proc.start()
    try:
        return queue.get(timeout=timeout)
    except Exception:
        return timeout, None
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join()


if __name__ == "__main__":
    main()
