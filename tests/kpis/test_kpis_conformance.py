"""Every KPI, one Ibis code path: DuckDB, PostgreSQL and Spark must give identical results."""

from __future__ import annotations

from kpis_world import CFG, FUNNEL, NOW, tables

from marketops.analytics.engines import connect
from marketops.analytics.kpis.period import parse_period
from marketops.analytics.kpis.service import compute
from marketops.events.analytics import put_kpi_tables


def _run(url: str, period: str) -> list[dict]:
    con = connect(url)
    try:
        put_kpi_tables(con, tables())
        report = compute(con, CFG, FUNNEL, "MQL", parse_period(period, NOW), NOW)
        return report.as_dict()["kpis"]
    finally:
        con.disconnect()


def test_duckdb_and_postgres_agree(pg_database: str):
    for period in ("2026-10", "2026-Q4", "2026-09"):
        duck = _run("duckdb://", period)
        pg = _run(pg_database, period)
        assert len(duck) == len(pg) > 30
        for d, p in zip(duck, pg, strict=True):
            assert d == p, (period, d, p)


def test_duckdb_and_spark_agree(spark_url: str):
    for period in ("2026-10", "2026-Q4"):
        duck = _run("duckdb://", period)
        spark = _run(spark_url, period)
        assert len(duck) == len(spark) > 30
        for d, s in zip(duck, spark, strict=True):
            assert d == s, (period, d, s)
