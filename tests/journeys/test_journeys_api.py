"""The journey routes on a real uvicorn server: scopes, events (idempotent), status, controls."""

from __future__ import annotations

from datetime import UTC, datetime

from journeys_helpers import write_journey

from marketops.services.context import AppContext
from marketops.services.leads import capture_one
from marketops.testing.server import serve_workspace, stop_server
from marketops.workspace import Workspace

SIGNUP = {
    "entry": {"event": "signup"},
    "steps": [{"id": "hook", "webhook": {"url": "https://hooks.example/x"}}],
}


def test_journey_routes(workspace_dir, backend_url, monkeypatch) -> None:
    monkeypatch.setenv("MARKETOPS_DATABASE_URL", backend_url)
    write_journey(workspace_dir, "signup", SIGNUP)
    ctx = AppContext.open(Workspace.load(workspace_dir))
    from marketops.journeys.versions import publish

    publish(ctx, "signup", now=datetime.now(UTC))
    _, body = capture_one(ctx, {"email": "api@j.example"}, datetime.now(UTC))
    lid = body["id"]
    server, keys = serve_workspace(workspace_dir, backend_url)
    try:
        with server.client() as anon:
            assert anon.get("/v1/journeys").status_code == 401
        with server.client(keys["read"]) as read:
            listed = read.get("/v1/journeys").json()
            assert [(j["name"], j["status"], j["version"]) for j in listed] == [
                ("signup", "active", 1),
                ("welcome", "draft", None),  # the example workspace's, never published
            ]
            assert read.get("/v1/journeys/signup").json()["versions"][0]["version"] == 1
            r = read.post("/v1/journeys/signup/events", json={"lead_id": lid, "event": "signup"})
            assert r.status_code == 403  # events need `ingest`
            assert read.post("/v1/journeys/signup/pause").status_code == 403  # controls: admin
            assert read.get("/v1/journeys/nope/status").status_code == 404
        with server.client(keys["ingest"]) as ingest:
            hdr = {"Idempotency-Key": "evt-1"}
            first = ingest.post(
                "/v1/journeys/signup/events", json={"lead_id": lid, "event": "signup"}, headers=hdr
            )
            again = ingest.post(
                "/v1/journeys/signup/events", json={"lead_id": lid, "event": "signup"}, headers=hdr
            )
            assert (first.status_code, again.status_code) == (201, 200)
            assert first.json()["id"] == again.json()["id"]
            bad = ingest.post("/v1/journeys/signup/events", json={"lead_id": lid, "evnt": "x"})
            assert bad.status_code == 422
        from marketops.journeys.runner import drain

        drain(ctx, lambda: datetime.now(UTC))
        with server.client(keys["admin"]) as admin:
            st = admin.get("/v1/journeys/signup/status").json()
            assert st["enrolments"] == {"completed": 1}
            assert st["steps"] == [{"step": "hook", "outcome": "done", "count": 1}]
            r = admin.post("/v1/journeys/signup/pause", json={"reason": "review"})
            assert r.json() == {
                "journey": "signup",
                "status": "paused",
                "changed": True,
                "ended": 0,
            }
            assert admin.post("/v1/journeys/signup/resume").json()["status"] == "active"
            assert admin.post("/v1/journeys/signup/stop").json()["status"] == "stopped"
    finally:
        stop_server(server)
        ctx.close()
