"""Engine URLs and the simulated world's bookkeeping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from marketops.analytics import engines
from marketops.analytics.attribution import AttributionConfig, attribute, put_tables
from marketops.analytics.simulate import ChannelSpec, simulate
from marketops.errors import MarketopsError


def test_duckdb_urls(tmp_path):
    assert engines._duckdb_path("duckdb://") == ":memory:"
    assert engines._duckdb_path("duckdb:///data/a.duckdb") == "data/a.duckdb"
    assert engines._duckdb_path(f"duckdb:///{tmp_path}/a.duckdb") == f"{tmp_path}/a.duckdb"
    con = engines.connect(str(tmp_path / "b.duckdb"))
    con.raw_sql("create table t as select 1 as x")
    con.disconnect()
    assert (tmp_path / "b.duckdb").exists()


def test_unknown_scheme_is_a_user_error():
    with pytest.raises(MarketopsError, match="unsupported"):
        engines.connect("mysql://x")


def test_simulation_is_reproducible_and_its_truth_adds_up():
    a, b = simulate(500, seed=3), simulate(500, seed=3)
    assert a.touchpoints.equals(b.touchpoints) and a.conversions.equals(b.conversions)
    assert sum(a.true_share.values()) == pytest.approx(1.0)
    kinds = a.conversions.column("kind").to_pylist()
    assert kinds.count("lead_created") == kinds.count("opportunity") == kinds.count("closed_won")


def test_single_channel_world_is_attributed_fully_by_every_model():
    world = simulate(300, seed=1, channels=(ChannelSpec("only", 1.0, 0.5, 2.0),))
    con = __import__("marketops.analytics.engines", fromlist=["connect"]).connect()
    put_tables(con, {"touchpoints": world.touchpoints, "conversions": world.conversions})
    r = attribute(con, AttributionConfig(kinds=["closed_won"]), datetime(2024, 6, 1, tzinfo=UTC))
    won = world.conversions.column("kind").to_pylist().count("closed_won")
    assert won > 100
    for c in r.credits:
        assert c.group == "only" and c.share == pytest.approx(1.0)
        assert c.conversions == pytest.approx(won)
    con.disconnect()
