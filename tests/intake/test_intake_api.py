"""/v1/requests, /v1/launches and the request web form against a real uvicorn on 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from intake_assets import BAD_HTML

from marketops.testing.server import LiveServer, serve_workspace, stop_server
from marketops.workspace.scaffold import init_workspace

FIELD = {"object": "lead", "field_name": "lead_source_detail", "purpose": "reporting"}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    workspace_dir = tmp_path_factory.mktemp("ws")
    init_workspace(workspace_dir, force=True)
    if request.param == "sqlite":
        url = f"sqlite:///{workspace_dir / 'intake.db'}"
    else:
        url = request.getfixturevalue("postgres_server").create_database()
    server, tokens = serve_workspace(workspace_dir, url, ("ingest", "read", "admin"))
    yield server, tokens
    stop_server(server)


def test_request_lifecycle_over_http(live) -> None:
    server, tokens = live
    body = {
        "type": "add-field",
        "title": "Add lead source detail",
        "requester": "pat@example.com",
        "inputs": FIELD,
        "priority": {"impact": 5, "urgency": 4, "effort": 2},
    }
    with server.client(tokens["ingest"]) as c:
        r = c.post("/v1/requests", json=body, headers={"Idempotency-Key": "req-1"})
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["state"] == "new" and created["priority"] == 10.0
        assert [s["goal"] for s in created["sla"]] == ["time to triage", "time to done"]
        again = c.post("/v1/requests", json=body, headers={"Idempotency-Key": "req-1"})
        assert again.status_code == 200 and again.json()["id"] == created["id"]
        bad = c.post("/v1/requests", json={**body, "inputs": {"object": "planet"}})
        assert bad.status_code == 422
        assert {e["where"] for e in bad.json()["errors"]} == {
            "inputs.object",
            "inputs.field_name",
            "inputs.purpose",
        }
        # creating needs ingest; moving needs admin
        rid = created["id"]
        assert c.post(f"/v1/requests/{rid}/transitions", json={"to": "triaged"}).status_code == 403
    with server.client(tokens["admin"]) as c:
        moved = c.post(f"/v1/requests/{rid}/transitions", json={"to": "triaged", "note": "ok"})
        assert moved.status_code == 200 and moved.json()["state"] == "triaged"
        paused = c.post(f"/v1/requests/{rid}/transitions", json={"to": "awaiting_approval"})
        assert paused.json()["state"] == "awaiting_approval"
        resumed = c.post(f"/v1/requests/{rid}/transitions", json={"to": "resume"})
        assert resumed.json()["state"] == "triaged"
        wrong = c.post(f"/v1/requests/{rid}/transitions", json={"to": "live"})
        assert wrong.status_code == 409
    with server.client(tokens["read"]) as c:
        got = c.get(f"/v1/requests/{rid}").json()
        assert [h["to"] for h in got["history"]] == [
            "new",
            "triaged",
            "awaiting_approval",
            "triaged",
        ]
        listed = c.get("/v1/requests", params={"open": "true", "class": "simple"}).json()
        assert rid in [x["id"] for x in listed]
        m = c.get("/v1/intake/metrics").json()
        assert m["backlog_aging"]["simple"]["open"] >= 1 and "experiments" in m
        assert c.get("/v1/requests/999999").status_code == 404


def test_launch_gate_over_http(live) -> None:
    server, tokens = live
    with server.client(tokens["admin"]) as c:
        r = c.post(
            "/v1/launches",
            json={
                "name": "Webinar page",
                "train": "web",
                "assets": [{"name": "page.html", "html": BAD_HTML}],
            },
        )
        assert r.status_code == 201, r.text
        launch = r.json()
        assert launch["train"] == "web" and launch["state"] == "scheduled"
        checked = c.post(f"/v1/launches/{launch['id']}/check").json()
        assert checked["preflight_ok"] is False
        refused = c.post(f"/v1/launches/{launch['id']}/ship", json={})
        assert refused.status_code == 409 and "blocker" in refused.json()["detail"]
        frozen = c.post(
            "/v1/launches", json={"name": "Holiday promo", "at": "2026-12-24T15:00:00Z"}
        )
        assert frozen.status_code == 409
        overridden = c.post(
            "/v1/launches",
            json={
                "name": "Holiday promo",
                "at": "2026-12-24T15:00:00Z",
                "override_reason": "legal deadline",
            },
        )
        assert overridden.status_code == 201
        audit = overridden.json()["audit"][0]
        assert audit["reason"] == "legal deadline" and audit["actor"].startswith("key:")
    with server.client(tokens["read"]) as c:
        assert c.post(f"/v1/launches/{launch['id']}/ship", json={}).status_code == 403
        names = [x["name"] for x in c.get("/v1/launches").json()]
        assert "Webinar page" in names and "Holiday promo" in names
    with server.client(tokens["admin"]) as c:
        cancelled = c.post(f"/v1/launches/{launch['id']}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
        assert c.post(f"/v1/launches/{launch['id']}/cancel").status_code == 409


def test_web_form_with_csrf(live) -> None:
    server, _ = live
    with server.client() as c:
        picker = c.get("/requests/new")
        assert picker.status_code == 200 and 'name="type"' in picker.text
        assert "<label" in picker.text and 'lang="en"' in picker.text
        form = c.get("/requests/new", params={"type": "add-field"})
        assert "default-src 'none'" in form.headers["content-security-policy"]
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        assert '<label for="f-inputs-field_name">' in form.text
        fields = {
            "csrf_token": token,
            "type": "add-field",
            "title": "Add a <b>field</b>",
            "requester": "pat@example.com",
            "inputs.object": "lead",
            "inputs.field_name": "lsd",
            "inputs.purpose": "",
            "priority.impact": "4",
        }
        invalid = c.post("/requests/new", data=fields)
        assert invalid.status_code == 422 and 'role="alert"' in invalid.text
        assert 'aria-invalid="true"' in invalid.text and "Add a &lt;b&gt;field" in invalid.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', invalid.text).group(1)
        fields.update(csrf_token=token, **{"inputs.purpose": "reporting"})
        done = c.post("/requests/new", data=fields)
        assert done.status_code == 201, done.text
        assert "received" in done.text
        twice = c.post("/requests/new", data=fields)  # a double-clicked submit
        assert twice.status_code == 201
        assert re.search(r"#(\d+)", done.text).group(1) == re.search(r"#(\d+)", twice.text).group(1)
    with server.client() as other:  # no cookie: a cross-site post
        forged = other.post("/requests/new", data=fields)
        assert forged.status_code == 403
