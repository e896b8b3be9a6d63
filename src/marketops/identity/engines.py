"""Where Splink runs: one small adapter per backend (DuckDB in this process, Spark for scale).

An adapter opens the backend with the workspace's settings (`identity.yml` → `engine`), gives
a local DuckDB connection (`con`) for the counts made before Splink runs, hands Splink the
records to score (`splink_input`: a table or view on `con`), and closes what it opened. Everything else — settings, training, prediction — is the same Splink code on either.
"""

from __future__ import annotations

import shutil
import tempfile
from typing import Any

from marketops.errors import MarketopsError, Problem
from marketops.identity.config import Engine
from marketops.identity.model import Dialect

SPARK_INSTALL = (
    "install the Spark extra (`pip install 'marketops[spark]'`, i.e. pyspark>=3.5,<4.1) "
    "and a Java 17+ runtime (`java` on PATH or JAVA_HOME)"
)


class DuckDBBackend:
    """Splink's DuckDBAPI on a connection of ours: bounded memory, spills to a temp directory."""

    dialect: Dialect = "duckdb"
    u_chunks = 10  # Splink's default

    def __init__(self, engine: Engine) -> None:
        import duckdb
        from splink import DuckDBAPI

        self._own_tmp = None if engine.temp_directory else tempfile.mkdtemp(prefix="mo-duckdb-")
        self.con = duckdb.connect()
        self.con.execute("SET temp_directory = ?", [engine.temp_directory or self._own_tmp])
        self.con.execute("SET preserve_insertion_order = false")
        if engine.memory_limit:
            self.con.execute("SET memory_limit = ?", [engine.memory_limit])
        if engine.threads:
            self.con.execute(f"SET threads = {int(engine.threads)}")
        import os

        for stmt in filter(None, os.environ.get("MO_DUCKDB_EXTRA", "").split(";")):
            self.con.execute(stmt)
        self.api = DuckDBAPI(connection=self.con)

    def splink_input(self, name: str) -> Any:
        """`name` is a table or view on `con`: Splink reads it where it is."""
        return self.api.register(name)

    def close(self) -> None:
        self.con.close()
        if self._own_tmp:
            shutil.rmtree(self._own_tmp, ignore_errors=True)


def spark_session(engine: Engine) -> Any:
    """The process's Spark session (created once: starting one takes 10-15 s; an active one is
    reused), with Splink's similarity functions (`jaro_winkler`) loaded from its jar."""
    try:
        from pyspark.sql import SparkSession
        from splink.backends.spark import similarity_jar_location
    except ImportError as exc:
        raise MarketopsError(
            "identity engine 'spark' needs PySpark",
            [
                Problem(
                    "identity.yml: engine.name", f"spark is not installed ({exc})", SPARK_INSTALL
                )
            ],
        ) from exc
    spark = (
        SparkSession.builder.master(engine.spark_master)
        .appName("marketops-identity")
        .config("spark.jars", similarity_jar_location())
        .config("spark.sql.shuffle.partitions", str(engine.spark_shuffle_partitions))
        .config("spark.default.parallelism", str(engine.spark_shuffle_partitions))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    # a session started elsewhere in this process (e.g. by the analytics engine) lacks the jar
    spark.sql(f"ADD JAR '{similarity_jar_location()}'")
    return spark


class SparkBackend:
    """Splink's SparkAPI; Splink cuts lineage between steps by `spark_break_lineage` (persist
    by default: in local mode it measured faster than Parquet files in a temp directory)."""

    dialect: Dialect = "spark"
    u_chunks = 1  # Splink's u sampling runs chunks as separate Spark jobs: one is enough here

    def __init__(self, engine: Engine) -> None:
        import duckdb

        self.spark = spark_session(engine)  # first: a missing PySpark fails before anything
        from splink.backends.spark import SparkAPI

        self.con = duckdb.connect()
        if engine.memory_limit:
            self.con.execute("SET memory_limit = ?", [engine.memory_limit])
        self._tmp = tempfile.mkdtemp(prefix="mo-spark-", dir=engine.temp_directory)
        self.spark.sparkContext.setCheckpointDir(self._tmp)
        self.api = SparkAPI(
            spark_session=self.spark,
            break_lineage_method=engine.spark_break_lineage,
            num_partitions_on_repartition=engine.spark_shuffle_partitions,
        )

    def splink_input(self, name: str) -> Any:
        """`name` on `con`, copied into Spark."""
        from pyspark.sql.pandas.types import from_arrow_schema

        table = self.con.table(name).to_arrow_table()
        schema = from_arrow_schema(table.schema)  # all-null columns cannot be inferred
        return self.api.register(self.spark.createDataFrame(table.to_pandas(), schema=schema))

    def close(self) -> None:  # the session stays up for the next run in this process
        self.con.close()
        shutil.rmtree(self._tmp, ignore_errors=True)


def open_backend(engine: Engine) -> DuckDBBackend | SparkBackend:
    return SparkBackend(engine) if engine.name == "spark" else DuckDBBackend(engine)
