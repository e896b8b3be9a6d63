"""Shared fixtures: real SQLite files, a real PostgreSQL server started for this run, a real
uvicorn server, and example workspaces."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from marketops.testing.pgserver import PostgresServer, temporary_server
from marketops.workspace import Workspace
from marketops.workspace.scaffold import init_workspace


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with temporary_server() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """URL of the session's PostgreSQL server (database `postgres`)."""
    return postgres_server.url()


@pytest.fixture
def pg_database(postgres_server: PostgresServer) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return postgres_server.create_database()


@pytest.fixture
def workspace_dir(tmp_path: Path) -> Path:
    """The example workspace from `marketops init`, in a temp folder (SQLite store inside)."""
    root = tmp_path / "ws"
    init_workspace(root)
    return root


@pytest.fixture(params=["sqlite", "postgres"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Runs a test on a real SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("pg_database")


@pytest.fixture(scope="session")
def spark_url() -> Iterator[str]:
    """One local Spark session for the whole run (each costs 10-20 s to start); stopped at the end.

    `connect("pyspark://…")` reuses the active session, so every test that asks for this URL shares it.
    """
    pytest.importorskip("pyspark", reason="the [spark] extra is not installed")
    if shutil.which("java") is None:
        pytest.skip("Spark needs a Java runtime (java on PATH)")
    yield "pyspark://local[2]"
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is not None:
        session.stop()


@pytest.fixture
def ctx(workspace_dir: Path, backend_url: str, monkeypatch: pytest.MonkeyPatch):
    from marketops.services.context import AppContext

    monkeypatch.setenv("MARKETOPS_DATABASE_URL", backend_url)
    context = AppContext.open(Workspace.load(workspace_dir))
    yield context
    context.close()
