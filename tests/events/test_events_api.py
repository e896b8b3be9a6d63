"""POST /v1/events and GET /v1/kpis over a real uvicorn server (SQLite and PostgreSQL), with
signed requests, plus the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import pytest
from events_helpers import identify, opp, page
from typer.testing import CliRunner

from marketops.cli import app
from marketops.notify.signing import signature_headers
from marketops.services.context import AppContext
from marketops.testing.server import LiveServer, start_server, stop_server
from marketops.workspace import Workspace
from marketops.workspace.scaffold import init_workspace

SECRET = "test-signing-secret"
URL = "https://initech.example.com/?utm_source=google&utm_medium=cpc&utm_campaign=brand"
runner = CliRunner()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    ws = tmp_path_factory.mktemp("ws")
    init_workspace(ws, force=True)
    if request.param == "sqlite":
        url = f"sqlite:///{ws / 'api.db'}"
    else:
        url = request.getfixturevalue("postgres_server").create_database()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MARKETOPS_DATABASE_URL", url)
        ctx = AppContext.open(Workspace.load(ws))
    tokens = {s: ctx.keys.create(f"t-{s}", [s])[1] for s in ("ingest", "read")}
    ctx.close()
    server = start_server(
        ws, {"MARKETOPS_DATABASE_URL": url, "MARKETOPS_EVENTS_SIGNING_SECRET": SECRET}
    )
    yield server, tokens
    stop_server(server)


def _post(c, body) -> object:
    data = orjson.dumps(body)
    headers = signature_headers([SECRET], data, datetime.now(UTC))
    return c.post(
        "/v1/events", content=data, headers={**headers, "content-type": "application/json"}
    )


def test_events_signed_batch_422_and_kpis(live) -> None:
    server, tokens = live
    with server.client(tokens["ingest"]) as c:
        lead = c.post("/v1/leads", json={"email": "ann@initech.example.com", "company": "Initech"})
        assert lead.status_code in (200, 201), lead.text
        unsigned = c.post("/v1/events", json=page("p0", "a-1", "2026-10-01T10:00:00Z", URL))
        assert unsigned.status_code == 401
        ok = _post(c, page("p1", "a-1", "2026-10-01T10:00:00Z", URL))
        assert ok.status_code == 200 and ok.json()["touchpoints"] == 1
        batch = {
            "batch": [
                identify("i1", "a-1", email="ANN@initech.example.com"),
                opp("o1", "Opportunity Created", "OPP-1", "2026-10-05T00:00:00Z", "900.00"),
                {"type": "screen", "messageId": "s1", "userId": "u-1"},
            ]
        }
        bad = _post(c, batch)
        assert bad.status_code == 422
        body = bad.json()
        assert body["accepted"] == 2 and body["linked"] == 2
        assert body["rejected"][0]["index"] == 2
        assert body["rejected"][0]["errors"][0]["field"] == "type"
        assert _post(c, batch).json()["duplicates"] == 2  # retry is safe
        assert c.get("/v1/kpis?period=2026-10").status_code == 403  # needs read
    with server.client(tokens["read"]) as c:
        assert c.get("/v1/events/dead-letters").json()[0]["message_id"] == "s1"
        rep = c.get("/v1/kpis", params={"period": "2026-10", "now": "2026-11-02T00:00:00Z"})
        assert rep.status_code == 200, rep.text
        kpis = {(k["name"], k["method"]): k for k in rep.json()["kpis"]}
        assert kpis[("pipeline_created", "period")]["value"] == "900.00"  # money as a string
        assert kpis[("marketing_sourced_pipeline", "period")]["value"] == "900.00"
        assert kpis[("win_rate", "closed in period")]["value"] is None
        assert kpis[("win_rate", "closed in period")]["undefined"]
        csv = c.get("/v1/kpis", params={"period": "2026-10", "format": "csv"}).text
        assert csv.startswith("period,section,name") and "undefined" in csv
        assert c.get("/v1/kpis", params={"period": "Oct"}).status_code == 422


def test_cli_ingest_and_report(tmp_path, monkeypatch) -> None:
    ws = tmp_path / "ws"
    init_workspace(ws)
    monkeypatch.setenv("MARKETOPS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    f = tmp_path / "events.jsonl"
    f.write_text(
        json.dumps(page("p1", "a-1", "2026-10-01T10:00:00Z", URL))
        + "\n\nnot json\n"
        + json.dumps(opp("o1", "Opportunity Created", "OPP-1", "2026-10-05T00:00:00Z", "5"))
        + "\n"
    )
    res = runner.invoke(app, ["events", "ingest", str(f), "-w", str(ws)])
    assert res.exit_code == 1  # one line rejected
    assert "2 accepted" in res.output and f"{f}:3" in res.output
    res = runner.invoke(
        app,
        [
            "report",
            "kpis",
            "-w",
            str(ws),
            "--period",
            "2026-10",
            "--now",
            "2026-11-02T00:00:00Z",
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    kpis = {k["name"]: k for k in json.loads(res.output)["kpis"]}
    assert kpis["pipeline_created"]["value"] == "5.00"
    res = runner.invoke(app, ["report", "kpis", "-w", str(ws), "--period", "2026-10"])
    assert res.exit_code == 0 and "cohort" in res.output and "undefined" in res.output


def _kpis_json(ws, *extra: str) -> dict:
    res = runner.invoke(
        app,
        [
            *("report", "kpis", "-w", str(ws), "--period", "2026-10"),
            *("--now", "2026-11-02T00:00:00Z", "--format", "json", *extra),
        ],
    )
    assert res.exit_code == 0, res.output
    return {k["name"]: k["value"] for k in json.loads(res.output)["kpis"]}


@pytest.mark.postgres
def test_cli_kpis_engine_and_store_guard(tmp_path, monkeypatch, postgres_server) -> None:
    """`--engine` runs the same report on another engine; the store's own database is refused."""
    ws = tmp_path / "ws"
    init_workspace(ws)
    store = postgres_server.create_database()
    monkeypatch.setenv("MARKETOPS_DATABASE_URL", store)
    f = tmp_path / "events.jsonl"
    f.write_text(
        json.dumps(page("p1", "a-1", "2026-10-01T10:00:00Z", URL))
        + "\n"
        + json.dumps(opp("o1", "Opportunity Created", "OPP-1", "2026-10-05T00:00:00Z", "5"))
        + "\n"
    )
    assert runner.invoke(app, ["events", "ingest", str(f), "-w", str(ws)]).exit_code == 0
    duck = _kpis_json(ws)
    assert duck["pipeline_created"] == "5.00"
    assert _kpis_json(ws, "--engine", postgres_server.create_database()) == duck

    res = runner.invoke(
        app,
        ["report", "kpis", "-w", str(ws), "--period", "2026-10", "--engine", store],
    )
    assert res.exit_code == 1
    assert "holds a marketops store" in res.output
    assert _kpis_json(ws) == duck  # the store's tables are untouched
