"""Shared by the attribution benchmarks: a simulated world in an engine, timing, peer paths."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import ibis

from marketops.analytics.attribution import AttributionConfig, put_tables
from marketops.analytics.attribution.journeys import journeys
from marketops.analytics.engines import connect
from marketops.analytics.simulate import DEFAULT_CHANNELS, simulate

NOW = datetime(2024, 4, 1, tzinfo=UTC)
TOUCHES_PER_PERSON = 3.8  # the default world's average (measured), to size a run by touchpoints


def median_time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def world_engine(touchpoints: int, *, campaigns: int = 5, seed: int = 1, url: str | None = None):
    people = max(100, round(touchpoints / TOUCHES_PER_PERSON))
    t = time.perf_counter()
    world = simulate(people, seed=seed, campaigns_per_channel=campaigns)
    sim_s = time.perf_counter() - t
    con = connect(url)
    t = time.perf_counter()
    put_tables(
        con,
        {"touchpoints": world.touchpoints, "conversions": world.conversions, "costs": world.costs},
    )
    load_s = time.perf_counter() - t
    print(
        f"world: {world.touchpoints.num_rows:,} touchpoints, {people:,} people, "
        f"{world.conversions.num_rows:,} conversion rows, {len(DEFAULT_CHANNELS)} channels x "
        f"{campaigns} campaigns (simulated in {sim_s:.1f} s, loaded in {load_s:.1f} s)"
    )
    return con, world


def peer_paths(con: Any, cfg: AttributionConfig, *, with_null: bool = True):
    """ChannelAttribution's input: one row per distinct path with conversions, value and nulls."""
    jt = journeys(con.table("touchpoints"), con.table("conversions"), cfg, NOW, level=cfg.by)
    if not with_null:
        jt = jt.filter(jt.converted)
    per = jt.group_by(["jid", "converted"]).aggregate(
        path=jt.g.collect(order_by=jt.pos).join(" > "), value=jt.amount.max()
    )
    paths = per.group_by("path").aggregate(
        total_conversions=per.converted.cast("int64").sum(),
        total_conversion_value=ibis.ifelse(per.converted, per.value, 0.0).sum(),
        total_null=(~per.converted).cast("int64").sum(),
    )
    return paths.to_pandas()


def import_peer() -> Any:
    """ChannelAttribution, imported quietly (it prints a banner), or None."""
    import contextlib
    import io

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            import ChannelAttribution
    except ImportError as exc:
        print(f"peer ChannelAttribution not installed ({exc}); no ratio")
        return None
    return ChannelAttribution
