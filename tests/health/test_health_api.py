"""`/v1/health/runs` on a real uvicorn server over a SQLite store: scopes, a run, the trend."""

from __future__ import annotations

from pathlib import Path

from marketops.services.context import AppContext
from marketops.testing.server import start_server, stop_server
from marketops.workspace import Workspace


def test_run_and_read_over_http(workspace_dir: Path, tmp_path: Path, monkeypatch) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("MARKETOPS_DATABASE_URL", db)
    ctx = AppContext.open(Workspace.load(workspace_dir))
    _, admin = ctx.keys.create("admin", ["admin"])
    _, reader = ctx.keys.create("reader", ["read"])
    ctx.close()
    server = start_server(workspace_dir, {"MARKETOPS_DATABASE_URL": db})
    try:
        with server.client(reader) as c:
            assert c.post("/v1/health/runs", json={}).status_code == 403
        with server.client(admin) as c:
            r = c.post("/v1/health/runs", json={"now": "2026-11-25T00:00:00Z"})
            assert r.status_code == 201, r.text
            run = r.json()
            assert run["rows"] == 0 and run["source"] == "store"
            assert c.post("/v1/health/runs", json={"now": "2026-11-25"}).status_code == 422
            other = {"engine": "postgresql://elsewhere/db"}
            assert c.post("/v1/health/runs", json=other).status_code == 422
            again = c.post("/v1/health/runs", json={"engine": "duckdb"}).json()
            assert again["engine"] == "duckdb"
        with server.client(reader) as c:
            runs = c.get("/v1/health/runs").json()
            assert {x["run_id"] for x in runs} == {run["run_id"], again["run_id"]}
            one = c.get(f"/v1/health/runs/{run['run_id']}").json()
            assert {f["dimension"] for f in one["fields"]} == {
                "completeness",
                "validity",
                "timeliness",
                "uniqueness",
                "consistency",
            }
            assert c.get("/v1/health/runs/424242").status_code == 404
            assert c.get("/v1/health/runs", params={"dimension": "validity"}).status_code == 422
        with server.client() as c:
            assert c.get("/v1/health/runs").status_code == 401
    finally:
        stop_server(server)
