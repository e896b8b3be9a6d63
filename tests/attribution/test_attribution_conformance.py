"""The same Ibis expressions give the same numbers on every backend (DuckDB memory and file,
PostgreSQL), for every model and every grouping level."""

from __future__ import annotations

import pytest
from attribution_helpers import run_world, same_credits

from marketops.analytics.attribution import ALL_MODELS
from marketops.analytics.simulate import simulate


@pytest.fixture(scope="module")
def world():
    return simulate(400, seed=42, campaigns_per_channel=2)


@pytest.fixture(scope="module")
def reference(world):
    return {by: run_world("duckdb://", world, by) for by in ("channel", "campaign")}


def test_reference_covers_every_model(reference):
    models = {m for _, m in reference["channel"]}
    assert set(ALL_MODELS) <= models


@pytest.mark.parametrize("by", ["channel", "campaign"])
def test_duckdb_file_matches_memory(tmp_path, world, reference, by):
    same_credits(run_world(f"duckdb:///{tmp_path / 'a.duckdb'}", world, by), reference[by])


@pytest.mark.postgres
@pytest.mark.parametrize("by", ["channel", "campaign"])
def test_postgres_matches_duckdb(pg_database, world, reference, by):
    same_credits(run_world(pg_database, world, by), reference[by])
