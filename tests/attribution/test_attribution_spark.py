"""Spark conformance: every model at every grouping level on PySpark (local mode) equals DuckDB.

The run's single Spark session comes from the `spark_url` fixture (sessions take 10-20 s to start).
"""

from __future__ import annotations

import pytest
from attribution_helpers import run_world, same_credits

from marketops.analytics.attribution import ALL_MODELS
from marketops.analytics.simulate import simulate


@pytest.mark.parametrize("by", ["channel", "campaign"])
def test_spark_matches_duckdb(spark_url, by):
    world = simulate(400, seed=42, campaigns_per_channel=2)
    spark = run_world(spark_url, world, by)
    assert set(ALL_MODELS) <= {m for _, m in spark}
    same_credits(spark, run_world("duckdb://", world, by))
