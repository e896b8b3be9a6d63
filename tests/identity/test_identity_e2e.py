"""Identity over a real uvicorn server (SQLite and PostgreSQL) and from the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from marketops.cli import app
from marketops.identity import generator
from marketops.testing.server import LiveServer, serve_workspace, stop_server
from marketops.workspace.scaffold import init_workspace

runner = CliRunner()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    ws = tmp_path_factory.mktemp("ws")
    init_workspace(ws, force=True)
    (ws / "identity.yml").write_text("realtime: true\n")
    if request.param == "sqlite":
        url = f"sqlite:///{ws / 'api.db'}"
    else:
        url = request.getfixturevalue("postgres_server").create_database()
    server, tokens = serve_workspace(ws, url, ("ingest", "read", "admin"))
    yield server, tokens
    stop_server(server)


def test_capture_links_show_report_and_undo_over_http(live) -> None:
    server, tokens = live
    lead = {"first_name": "Katherine", "last_name": "Oduya", "company": "Initech LLC"}
    with server.client(tokens["ingest"]) as c:
        a = c.post("/v1/leads", json={**lead, "email": "k.oduya@initech.example"}).json()["id"]
        b = c.post(
            "/v1/leads", json={**lead, "first_name": "Kate", "email": "kate.o@gmail.com"}
        ).json()["id"]
    with server.client(tokens["read"]) as c:
        ident = c.get(f"/v1/identities/{b}").json()
        assert {m["lead_id"] for m in ident["members"]} == {a, b}
        assert c.get(f"/v1/identities/{a}").json()["id"] == ident["id"]
        rep = c.get("/v1/identity/report").json()
        assert rep["records"] >= 2 and rep["duplicates_per_1000"] > 0
        assert c.get("/v1/identities/nobody").status_code == 404
        merge_id = ident["merges"][0]["id"]
        assert c.post(f"/v1/identity/merges/{merge_id}/undo").status_code == 403  # needs admin
    with server.client(tokens["admin"]) as c:
        undone = c.post(f"/v1/identity/merges/{merge_id}/undo")
        assert undone.status_code == 200 and undone.json()["moved"][0]["lead_id"] == b
        assert c.post(f"/v1/identity/merges/{merge_id}/undo").status_code == 409
        assert c.get(f"/v1/identities/{b}").json()["id"] != ident["id"]


def test_cli_resolve_file_and_store(workspace_dir: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MARKETOPS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    src = tmp_path / "leads.csv"
    generator.write_csv(str(src), 250, seed=11)
    out = tmp_path / "clusters.csv"
    r = runner.invoke(
        app,
        ["identity", "resolve", "-w", str(workspace_dir), "--file", str(src), "--out", str(out),
         "--id-column", "record_id", "--json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    stats = json.loads(r.output)
    clusters = pd.read_csv(out)
    truth = pd.read_csv(src)
    assert len(clusters) == len(truth) == stats["records"]
    m = generator.evaluate(clusters["cluster"], truth["entity_id"])
    assert m["f1"] >= 0.9, m

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"email": "a@b.example"}\nnot json\n')
    r = runner.invoke(
        app, ["identity", "resolve", "-w", str(workspace_dir), "--file", str(bad), "--out", "x.csv"]
    )
    assert r.exit_code == 1 and "unreadable" in r.output

    r = runner.invoke(app, ["ingest", str(src), "-w", str(workspace_dir), "--json"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["identity", "resolve", "-w", str(workspace_dir)])
    assert r.exit_code == 0 and "identities" in r.output, r.output
    r = runner.invoke(app, ["identity", "report", "-w", str(workspace_dir), "--json"])
    rep = json.loads(r.output)
    assert rep["records"] > 200 and 0 < rep["duplicates_per_1000"] < 300
    r = runner.invoke(app, ["identity", "report", "-w", str(workspace_dir)])
    assert "duplicates per 1000" in r.output and "@" not in r.output
    r = runner.invoke(app, ["identity", "unmerge", "999999", "-w", str(workspace_dir)])
    assert r.exit_code == 1 and "no merge" in r.output


def test_cli_rejects_an_unknown_engine(workspace_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "leads.csv"
    generator.write_csv(str(src), 20, seed=1)
    r = runner.invoke(
        app,
        ["identity", "resolve", "-w", str(workspace_dir), "--file", str(src), "--out",
         str(tmp_path / "o.csv"), "--engine", "flink"],
    )  # fmt: skip
    assert r.exit_code == 1 and "--engine" in r.output and "duckdb or spark" in r.output
