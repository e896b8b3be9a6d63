"""POST /v1/preflight through the real app factory, store and API-key check (FastAPI TestClient)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from preflight_helpers import LinkServer, serve_links
from typer.testing import CliRunner

from marketops.api.app import create_app
from marketops.cli import app as cli_app
from marketops.services.context import AppContext
from marketops.workspace import Workspace

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def link_server() -> Iterator[LinkServer]:
    """A real HTTP server on 127.0.0.1 for this module (see preflight_helpers)."""
    with serve_links() as server:
        yield server


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, dict]]:
    monkeypatch.delenv("MARKETOPS_DATABASE_URL", raising=False)
    root = tmp_path / "ws"
    assert CliRunner().invoke(cli_app, ["init", str(root)]).exit_code == 0
    (root / "taxonomy.yml").unlink()  # the fallback UTM rule keeps these cases about the API
    ctx = AppContext.open(Workspace.load(root))
    tokens = {s: ctx.keys.create(f"t-{s}", [s])[1] for s in ("read", "ingest")}
    with TestClient(create_app(ctx=ctx)) as client:
        yield client, {s: {"Authorization": f"Bearer {t}"} for s, t in tokens.items()}
    close = getattr(ctx, "close", None)
    if close:
        close()


def test_eml_body_is_checked(api) -> None:
    client, auth = api
    eml = (FIXTURES / "bad_list_headers.eml").read_text()
    r = client.post("/v1/preflight", json={"eml": eml, "name": "launch.eml"}, headers=auth["read"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["can_ship"] is False and body["blockers"] == 2
    assert [f["where"] for f in body["findings"] if f["severity"] == "blocker"] == [
        "launch.eml:5",
        "launch.eml:6",
    ]
    assert body["stats"]["link_mode"] == "offline"


def test_html_body_that_can_ship(api) -> None:
    client, auth = api
    html = (FIXTURES / "good.html").read_text()
    r = client.post("/v1/preflight", json={"html": html}, headers=auth["read"])
    assert r.status_code == 200, r.text
    # the template allowlist is example.com: acme.example links are listed, nothing blocks
    assert r.json()["can_ship"] is True
    assert {f["check"] for f in r.json()["findings"]} == {"link_domain"}


def test_scope_and_auth(api) -> None:
    client, auth = api
    assert client.post("/v1/preflight", json={"html": "<p>x</p>"}).status_code == 401
    r = client.post("/v1/preflight", json={"html": "<p>x</p>"}, headers=auth["ingest"])
    assert r.status_code == 403


def test_online_checks_need_the_workspace_to_allow_them(api) -> None:
    client, auth = api
    r = client.post(
        "/v1/preflight", json={"html": "<p>x</p>", "check_links": True}, headers=auth["read"]
    )
    assert r.status_code == 403 and "api_allow_online" in r.json()["detail"]


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"html": "<p>x</p>", "eml": "From: a@b.example\n\nx"},
        {"html": "<p>x</p>", "colour": "red"},
    ],
)
def test_bad_requests(api, payload: dict) -> None:
    client, auth = api
    r = client.post("/v1/preflight", json=payload, headers=auth["read"])
    assert r.status_code == 422


def test_online_checks_when_allowed(api, link_server: LinkServer) -> None:
    client, auth = api
    root = client.app.state.ctx.workspace.root
    (root / "preflight.yml").write_text("api_allow_online: true\nlinks:\n  timeout_s: 0.5\n")
    html = f'<p><a href="{link_server.url("/missing")}">x</a></p>'
    r = client.post(
        "/v1/preflight",
        json={"html": html, "check_links": True, "page": True},
        headers=auth["read"],
    )
    assert r.status_code == 200, r.text
    broken = [f for f in r.json()["findings"] if f["check"] == "link_broken"]
    assert [f["where"] for f in broken] == ["document:1:4"]
    assert r.json()["stats"]["link_mode"] == "online"
