"""`POST /v1/leads` and `GET /v1/leads/{id}` against a real uvicorn server on 127.0.0.1."""

from collections.abc import Iterator

import pytest

from marketops.services.context import AppContext
from marketops.testing.server import LiveServer, serve_workspace, stop_server
from marketops.workspace import Workspace
from marketops.workspace.scaffold import init_workspace


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """One server per backend for the module; each test uses its own emails."""
    workspace_dir = tmp_path_factory.mktemp("ws")
    init_workspace(workspace_dir, force=True)
    if request.param == "sqlite":
        url = f"sqlite:///{workspace_dir / 'api.db'}"
    else:
        url = request.getfixturevalue("postgres_server").create_database()
    server, tokens = serve_workspace(workspace_dir, url, ("ingest", "read", "admin"))
    yield server, tokens
    stop_server(server)


def test_capture_lookup_and_history(live) -> None:
    server, tokens = live
    with server.client(tokens["ingest"]) as c:
        r = c.post(
            "/v1/leads",
            json={
                "email": "Priya@Initech.example",
                "first_name": "priya",
                "title": "Director of Demand Gen",
                "activity": "demo_request",
                "message": "timeline is Q1",
                "country": "usa",
            },
        )
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["status"] == "created" and body["scores"]["total"] > 0
        assert body["lifecycle_stage"] in ("Known", "MQL")
        assert body["assignment"]["rule"] is not None
        again = c.post(
            "/v1/leads", json={"email": "priya@initech.example ", "activity": "pricing_page"}
        )
        assert again.status_code == 200 and again.json()["id"] == body["id"]
        # ingest-only keys cannot read
        assert c.get(f"/v1/leads/{body['id']}").status_code == 403
    with server.client(tokens["read"]) as c:
        lead = c.get(f"/v1/leads/{body['id']}").json()
        assert lead["email"] == "priya@initech.example" and lead["country"] == "US"
        assert [a["type"] for a in lead["activities"]] == ["demo_request", "pricing_page"]
        assert {h["kind"] for h in lead["history"]} >= {"created", "score", "stage", "updated"}
        assert c.post("/v1/leads", json={"email": "x@y.example"}).status_code == 403
        assert c.get("/v1/leads/nope").status_code == 404


def test_auth_is_required_and_checked(live) -> None:
    server, _ = live
    with server.client() as c:
        assert c.post("/v1/leads", json={"email": "a@b.example"}).status_code == 401
    with server.client("mk_deadbeef0000_wrong") as c:
        assert c.post("/v1/leads", json={"email": "a@b.example"}).status_code == 401


def test_bad_payloads_get_field_errors_and_are_quarantined(live) -> None:
    server, tokens = live
    with server.client(tokens["ingest"]) as c:
        r = c.post("/v1/leads", json={"email": "nobody-at-all", "activity": "telepathy"})
        assert r.status_code == 422
        errors = {e["field"]: e for e in r.json()["errors"]}
        assert errors["email"]["rule"] == "format" and errors["activity"]["value"] == "telepathy"
        qid = r.json()["quarantine_id"]
        raw = c.post(
            "/v1/leads", content=b"{email: oops", headers={"Content-Type": "application/json"}
        )
        assert raw.status_code == 422 and raw.json()["errors"][0]["field"] == "(body)"
        arr = c.post("/v1/leads", json=[1, 2])
        assert arr.status_code == 422
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MARKETOPS_DATABASE_URL", server.env["MARKETOPS_DATABASE_URL"])
        ctx = AppContext.open(Workspace.load(server.workspace), migrate=False)
    from marketops.services.quarantine import list_records, show

    assert show(ctx, qid)["payload"] == {"email": "nobody-at-all", "activity": "telepathy"}
    sources = [r["payload"] for r in list_records(ctx)]
    assert {"_raw": "{email: oops"} in sources and {"_raw": "[1,2]"} in sources
    ctx.close()


def test_idempotency_key(live) -> None:
    server, tokens = live
    payload = {"email": "once@hooli.example", "activity": "webinar"}
    with server.client(tokens["ingest"]) as c:
        h = {"Idempotency-Key": "req-42"}
        first = c.post("/v1/leads", json=payload, headers=h)
        second = c.post("/v1/leads", json=payload, headers=h)
        assert first.status_code == second.status_code == 201
        assert first.json() == second.json()
        conflict = c.post("/v1/leads", json={**payload, "activity": "demo_request"}, headers=h)
        assert conflict.status_code == 409
    with server.client(tokens["read"]) as c:
        lead = c.get(f"/v1/leads/{first.json()['id']}").json()
        assert len(lead["activities"]) == 1  # the retry did not count twice


def test_openapi_docs_are_served(live) -> None:
    server, _ = live
    with server.client() as c:
        spec = c.get("/openapi.json").json()
        assert "/v1/leads" in spec["paths"] and "/v1/leads/{lead_id}" in spec["paths"]
        assert c.get("/docs").status_code == 200


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_server_processes_share_one_store(backend, request, tmp_path) -> None:
    """`serve --workers 2`: concurrent first captures of one email across processes make one lead."""
    from concurrent.futures import ThreadPoolExecutor

    ws = tmp_path / "ws"
    init_workspace(ws, force=True)
    if backend == "sqlite":
        url = f"sqlite:///{ws / 'api.db'}"
    else:
        url = request.getfixturevalue("postgres_server").create_database()
    server, tokens = serve_workspace(ws, url, ("ingest", "read"), workers=2)
    try:

        def post(i: int) -> tuple[int, str]:
            with server.client(tokens["ingest"]) as c:
                email = "same@racing.example" if i % 2 else f"p{i}@racing.example"
                r = c.post("/v1/leads", json={"email": email, "activity": "demo_request"})
                return r.status_code, r.json()["id"]

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(post, range(40)))
    finally:
        stop_server(server)
    same = [a for i, a in enumerate(answers) if i % 2]
    assert sorted(s for s, _ in same) == [200] * 19 + [201]
    assert len({lead_id for _, lead_id in same}) == 1
    assert [s for i, (s, _) in enumerate(answers) if i % 2 == 0] == [201] * 20
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MARKETOPS_DATABASE_URL", url)
        ctx = AppContext.open(Workspace.load(ws))
    try:
        from marketops.store import leads_repo

        with ctx.engine.connect() as conn:
            assert leads_repo.counts(conn)["leads"] == 21
            assert leads_repo.counts(conn)["activities"] == 40
    finally:
        ctx.close()
