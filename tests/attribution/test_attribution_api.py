"""`/v1/attribution` on the real app (FastAPI TestClient, SQLite store, real API keys)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from marketops.api.app import create_app
from marketops.services.context import AppContext
from marketops.workspace import Workspace

BODY = {
    "touchpoints": [
        {"person_id": "p1", "ts": "2024-01-01T00:00:00Z", "channel": "ads", "campaign": "c1"},
        {"person_id": "p1", "ts": "2024-01-02T00:00:00Z", "channel": "email", "campaign": "c2"},
    ],
    "conversions": [
        {
            "conversion_id": "w1",
            "person_id": "p1",
            "ts": "2024-01-03T00:00:00Z",
            "kind": "closed_won",
            "amount": "100.00",
        }
    ],
    "config": {"models": ["first_touch", "linear"], "kinds": None},
    "now": "2024-02-01T00:00:00Z",
}


@pytest.fixture
def make_client(workspace_dir, tmp_path, monkeypatch):
    """A TestClient on the real app over the example workspace, with a read and an ingest key."""
    monkeypatch.setenv("MARKETOPS_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    opened: list[tuple[AppContext, TestClient]] = []

    def make() -> TestClient:
        ctx = AppContext.open(Workspace.load(workspace_dir))
        _, read_key = ctx.keys.create("reader", ["read"])
        _, ingest_key = ctx.keys.create("writer", ["ingest"])
        client = TestClient(create_app(ctx=ctx))
        client.headers["Authorization"] = f"Bearer {read_key}"
        client.ingest_key = ingest_key
        opened.append((ctx, client))
        return client

    yield make
    for ctx, client in opened:
        client.close()
        ctx.close()


@pytest.fixture
def client(make_client):
    return make_client()


def test_post_returns_credits(client):
    res = client.post("/v1/attribution", json=BODY)
    assert res.status_code == 200, res.text
    got = {(c["group"], c["model"]): c["conversions"] for c in res.json()["credits"]}
    assert got[("ads", "first_touch")] == 1.0 and got[("email", "linear")] == 0.5


def test_post_bad_rows_are_422_with_locations(client):
    body = {**BODY, "touchpoints": [{"person_id": "p1", "ts": "soon"}]}
    res = client.post("/v1/attribution", json=body)
    assert res.status_code == 422
    assert res.json()["errors"][0]["where"] == "touchpoints[0] ts"


def test_scope_is_enforced(client):
    res = client.post(
        "/v1/attribution", json=BODY, headers={"Authorization": f"Bearer {client.ingest_key}"}
    )
    assert res.status_code == 403


def test_get_reads_configured_sources(make_client, workspace_dir):
    data = workspace_dir / "data"
    data.mkdir(exist_ok=True)
    (data / "tp.csv").write_text(
        "person_id,ts,channel\np1,2024-01-01T00:00:00Z,ads\n", encoding="utf-8"
    )
    (data / "cv.csv").write_text(
        "conversion_id,person_id,ts,kind,amount\nw1,p1,2024-01-02T00:00:00Z,closed_won,5.00\n",
        encoding="utf-8",
    )
    (workspace_dir / "attribution.yml").write_text(
        "kinds: [closed_won]\nsources:\n  touchpoints: data/tp.csv\n  conversions: data/cv.csv\n",
        encoding="utf-8",
    )
    client = make_client()
    res = client.get(
        "/v1/attribution", params={"models": "last_touch", "now": "2024-02-01T00:00:00Z"}
    )
    assert res.status_code == 200, res.text
    assert res.json()["credits"][0]["revenue"] == "5.00"
