"""Spark conformance: every model on PySpark (local mode) equals DuckDB.

One Spark session for this module (they take 10-20 s to start). Spark is an optional extra and the
run costs about a minute on a 2-core machine, so it runs only with MARKETOPS_SPARK_TESTS=1; the
skip reason says so in the test report.
"""

from __future__ import annotations

import os

import pytest
from attribution_helpers import run_world, same_credits

from marketops.analytics.simulate import simulate

if not os.environ.get("MARKETOPS_SPARK_TESTS"):
    pytest.skip(
        "Spark conformance runs with MARKETOPS_SPARK_TESTS=1 (about a minute)",
        allow_module_level=True,
    )
pyspark = pytest.importorskip("pyspark", reason="the [spark] extra is not installed")


@pytest.fixture(scope="module")
def spark_url():
    yield "pyspark://local[2]"
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is not None:
        session.stop()


def test_spark_matches_duckdb(spark_url):
    world = simulate(400, seed=42, campaigns_per_channel=2)
    same_credits(run_world(spark_url, world, "channel"), run_world("duckdb://", world, "channel"))
