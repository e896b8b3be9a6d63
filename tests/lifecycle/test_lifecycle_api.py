"""Lifecycle routes against a real uvicorn server: transitions, sales touches, history, why."""

from collections.abc import Iterator

import pytest

from marketops.testing.server import LiveServer, serve_workspace, stop_server
from marketops.workspace.scaffold import init_workspace


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(request, tmp_path_factory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    ws = tmp_path_factory.mktemp("ws")
    init_workspace(ws, force=True)
    if request.param == "sqlite":
        url = f"sqlite:///{ws / 'api.db'}"
    else:
        url = request.getfixturevalue("postgres_server").create_database()
    server, tokens = serve_workspace(ws, url, ("ingest", "read"))
    yield server, tokens
    stop_server(server)


def test_move_touch_history_why(live) -> None:
    server, tokens = live
    with server.client(tokens["ingest"]) as c:
        r = c.post(
            "/v1/leads",
            json={
                "email": "api.mover@acme.example",
                "title": "CEO",
                "activity": "demo_request",
                "message": "pricing please",
            },
        )
        assert r.status_code == 201, r.text
        lead_id, owner = r.json()["id"], r.json()["assignment"]["owner"]

        r = c.post(
            f"/v1/leads/{lead_id}/activities",
            json={"type": "call", "actor": owner, "notes": "left a voicemail"},
            headers={"Idempotency-Key": "touch-1"},
        )
        assert r.status_code == 201, r.text
        assert r.json()["stopped"] == ["mql-first-contact"]
        again = c.post(
            f"/v1/leads/{lead_id}/activities",
            json={"type": "call", "actor": owner},
            headers={"Idempotency-Key": "touch-1"},
        )
        assert again.status_code == 200 and again.json()["id"] == r.json()["id"]
        bad = c.post(f"/v1/leads/{lead_id}/activities", json={"type": "fax", "actor": owner})
        assert bad.status_code == 422

        r = c.post(f"/v1/leads/{lead_id}/transitions", json={"to": "SAL", "actor": owner})
        assert r.status_code == 201, r.text
        assert (r.json()["from"], r.json()["to"]) == ("MQL", "SAL")
        r = c.post(f"/v1/leads/{lead_id}/transitions", json={"to": "Customer", "actor": owner})
        assert r.status_code == 422
        assert "not allowed" in r.json()["detail"]
        assert "SQL" in r.json()["errors"][0]["hint"]
        r = c.post(f"/v1/leads/{lead_id}/transitions", json={"to": "Nurture", "actor": owner})
        assert r.status_code == 422 and r.json()["errors"][0]["where"] == "reason"
        assert (
            c.post("/v1/leads/nope/transitions", json={"to": "SAL", "actor": "x"}).status_code
            == 404
        )

    with server.client(tokens["read"]) as c:
        assert (
            c.post(f"/v1/leads/{lead_id}/transitions", json={"to": "SQL", "actor": "x"}).status_code
            == 403
        )
        h = c.get(f"/v1/leads/{lead_id}/history").json()
        assert [(t["from"], t["to"]) for t in h["transitions"]] == [(None, "MQL"), ("MQL", "SAL")]
        assert h["stage"] == "SAL" and set(h["time_in_stage"]) == {"MQL", "SAL"}
        w = c.get(f"/v1/leads/{lead_id}/why").json()
        assert w["owner"] == owner
        assert w["decisions"][0]["evaluated"] == ["not-yet-mql", "named-account", "hand-raiser"]
        assert any(owner in r for r in w["decisions"][0]["reasons"])
