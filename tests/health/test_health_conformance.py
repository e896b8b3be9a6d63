"""The same health expressions on DuckDB and on PostgreSQL (via Ibis) give equal results."""

from __future__ import annotations

from pathlib import Path

import ibis
import pytest
from health_helpers import NOW, arrow_table

from marketops.analytics.engines import connect
from marketops.analytics.health.checks import build_plan, evaluate
from marketops.analytics.health.config import HealthConfig
from marketops.analytics.health.score import score
from marketops.analytics.health.service import score_source
from marketops.analytics.health.sources import open_store
from marketops.analytics.health.spec import load_spec, spec_from_workspace
from marketops.sample import write_csv
from marketops.services.context import AppContext
from marketops.services.ingest import ingest_file
from marketops.workspace import Workspace


def _counts(con, spec):
    t = con.create_table("health_t", arrow_table(), overwrite=True)
    plan = build_plan(t, spec, now=NOW, ts_field="occurred_at", max_age_days=30)
    counts = evaluate(plan)
    return counts, score(plan, counts, spec, source="t", engine="x", now=NOW).to_dict()


def _same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], float) or isinstance(b[k], float):
            assert a[k] == pytest.approx(b[k], rel=1e-9, abs=1e-9), k
        else:
            assert a[k] == b[k], k


def test_duckdb_and_postgres_count_the_same(workspace_dir: Path, pg_database: str) -> None:
    spec = load_spec(workspace_dir / "contracts" / "lead.odcs.yaml")
    duck_counts, duck_report = _counts(ibis.duckdb.connect(), spec)
    pg = connect(pg_database)
    try:
        pg_counts, pg_report = _counts(pg, spec)
    finally:
        pg.disconnect()
    _same(duck_counts, pg_counts)
    assert duck_report == pg_report


@pytest.fixture
def pg_store(workspace_dir: Path, pg_database: str, monkeypatch, tmp_path: Path):
    monkeypatch.setenv("MARKETOPS_DATABASE_URL", pg_database)
    ctx = AppContext.open(Workspace.load(workspace_dir))
    ingest_file(ctx, write_csv(tmp_path / "leads.csv", 400, seed=11, now=NOW), now=lambda: NOW)
    yield ctx
    ctx.close()


def test_store_in_place_on_postgres_equals_a_duckdb_copy(pg_store) -> None:
    spec = spec_from_workspace(pg_store.workspace)
    cfg = HealthConfig(max_age_days=365)
    reports = {}
    for url in (None, "duckdb://"):
        outside = frozenset(f.name for f in spec.fields if f.name in ("activity", "message"))
        src = open_store(pg_store.engine, outside, url)
        try:
            reports[src.engine] = score_source(src, spec, cfg, NOW).to_dict()
        finally:
            src.close()
    pg, duck = reports["postgres"], reports["duckdb"]
    assert pg["rows"] > 300
    pg.pop("engine"), duck.pop("engine")
    assert pg == duck
