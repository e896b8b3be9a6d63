"""Batch resolution with Splink's Spark backend (PySpark local mode), one session for the module.

Needs PySpark (`pip install 'marketops[spark]'`: pyspark>=3.5,<4.1) and a Java 17+ runtime;
skipped with that reason when either is missing. Starting a Spark session takes 10-15 s, so
these tests share the run's one session (conftest's `spark_url`) with the analytics tests.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

pytest.importorskip(
    "pyspark",
    reason="the Spark engine needs PySpark: pip install 'marketops[spark]' (pyspark>=3.5,<4.1)",
)
if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
    pytest.skip("the Spark engine needs a Java 17+ runtime (java on PATH)", allow_module_level=True)

from marketops.cli import app
from marketops.identity import generator
from marketops.identity.batch import resolve_frame
from marketops.identity.config import Engine, IdentityConfig
from marketops.identity.engines import spark_session
from marketops.identity.features import feature_frame

SPARK = Engine(name="spark", spark_master="local[2]", spark_shuffle_partitions=4)
# u from 100,000 random pairs: enough for these sizes, and each Spark job costs seconds here
TRAINING = {"u_max_pairs": 1e5}


@pytest.fixture(scope="module")
def spark(spark_url: str) -> object:
    """The run's one Spark session (conftest's `spark_url` stops it at the end of the run),
    with Splink's jar added when another module started it first."""
    return spark_session(SPARK)


@pytest.fixture(scope="module")
def leads() -> tuple[pd.DataFrame, pd.DataFrame]:
    df = generator.frame(3000, dup_rate=0.1, seed=5)
    return df, feature_frame(df.to_dict("records"), "record_id")


def test_spark_matches_truth_and_duckdb_and_the_realtime_twin(spark, leads) -> None:
    df, feats = leads
    on_spark = resolve_frame(feats, IdentityConfig(engine=SPARK, training=TRAINING))
    on_duckdb = resolve_frame(feats, IdentityConfig(training=TRAINING))
    assert on_spark.stats["engine"] == "spark" and on_duckdb.stats["engine"] == "duckdb"
    m_spark = generator.evaluate(on_spark.links["cluster"], df["entity_id"])
    m_duck = generator.evaluate(on_duckdb.links["cluster"], df["entity_id"])
    assert m_spark["f1"] >= 0.97, m_spark
    # same data, same labelled m and prior; only u's random sample differs between engines
    assert on_spark.model.prior == pytest.approx(on_duckdb.model.prior)
    assert abs(m_spark["f1"] - m_duck["f1"]) <= 0.01, (m_spark, m_duck)
    assert on_spark.stats["model_pairs"] > 0
    # Spark's SQL renders the same levels as the Python scorer: identical weights per pair
    by_id = feats.set_index("unique_id").to_dict("index")

    def clean(rec: dict) -> dict:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in rec.items()}

    for row in on_spark.pairs.itertuples(index=False):
        w, p = on_spark.model.score(clean(by_id[row.unique_id_l]), clean(by_id[row.unique_id_r]))
        assert w == pytest.approx(row.match_weight, abs=1e-6)
        assert p == pytest.approx(row.match_probability, abs=1e-9)


def test_cli_engine_spark_on_a_file(spark, workspace_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "leads.csv"
    generator.write_csv(str(src), 400, seed=12)
    (workspace_dir / "identity.yml").write_text(
        "training: {u_max_pairs: 100000}\nengine: {spark_master: 'local[2]'}\n"
    )
    out = tmp_path / "clusters.parquet"
    r = CliRunner().invoke(
        app,
        ["identity", "resolve", "-w", str(workspace_dir), "--file", str(src), "--out", str(out),
         "--id-column", "record_id", "--engine", "spark", "--json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    stats = json.loads(r.output)
    assert stats["engine"] == "spark"
    m = generator.evaluate(pd.read_parquet(out)["cluster"], pd.read_csv(src)["entity_id"])
    assert m["f1"] >= 0.9, m
