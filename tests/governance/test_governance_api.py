"""Change control over HTTP on a real uvicorn server: scopes, plan → apply → rollback, and the
running server picking up the applied rules at once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from marketops.services.context import AppContext
from marketops.testing.server import LiveServer, start_server, stop_server
from marketops.workspace import Workspace


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    from marketops.workspace.scaffold import init_workspace

    root = tmp_path_factory.mktemp("gov-api") / "ws"
    init_workspace(root)
    url = f"sqlite:///{root / 'api.db'}"
    mp = pytest.MonkeyPatch()
    mp.setenv("MARKETOPS_DATABASE_URL", url)
    ctx = AppContext.open(Workspace.load(root))
    tokens = {s: ctx.keys.create(f"gov-{s}", [s])[1] for s in ("read", "admin")}
    ctx.close()
    server = start_server(root, {"MARKETOPS_DATABASE_URL": url})
    yield server, tokens
    stop_server(server)
    mp.undo()


def _threshold(root: Path, value: int) -> None:
    p = root / "scoring.yml"
    p.write_text(re.sub(r"(?m)^mql_threshold: .*$", f"mql_threshold: {value}", p.read_text()))


def test_plan_apply_rollback_over_http(live: tuple[LiveServer, dict[str, str]]) -> None:
    server, tokens = live
    reader, admin = server.client(tokens["read"]), server.client(tokens["admin"])
    hot = {"email": "cxo@bigco.example", "title": "VP Marketing", "activity": "demo_request"}

    assert server.client().post("/v1/workspace/plan", json={}).status_code == 401
    r = reader.post("/v1/workspace/plan", json={"since": "all"})
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["live"] is None and first["valid"]
    denied = reader.post("/v1/workspace/apply", json={"who": "ana", "why": "baseline"})
    assert denied.status_code == 403
    r = admin.post("/v1/workspace/apply", json={"who": "ana", "why": "baseline"})
    assert r.status_code == 200 and r.json()["version"] == 1

    # live rules (threshold 60): executive 25 + demo request 40 = 65 makes an MQL
    r = admin.post("/v1/leads", json=hot)
    assert r.status_code == 201 and r.json()["lifecycle_stage"] == "MQL"

    _threshold(server.workspace, 999)
    plan = reader.post("/v1/workspace/plan", json={"since": "30d"}).json()
    assert [c["path"] for c in plan["changes"]] == ["scoring.yml"]
    assert plan["backtest"]["mql"]["lost"] == 1
    assert (
        reader.get(f"/v1/workspace/plans/{plan['plan_id']}").json()["candidate_hash"]
        == (plan["candidate_hash"])
    )
    r = admin.post(
        "/v1/workspace/apply", json={"who": "ana", "why": "pause MQLs", "plan_id": plan["plan_id"]}
    )
    assert r.status_code == 200 and r.json()["version"] == 2
    # the running server now scores with the applied rules, without a restart
    r = admin.post("/v1/leads", json={**hot, "email": "other@bigco.example"})
    assert r.json()["lifecycle_stage"] == "Known"

    versions = reader.get("/v1/workspace/versions").json()
    assert [v["version"] for v in versions["versions"]] == [2, 1]
    assert versions["versions"][0]["via"].startswith("api:")
    shown = reader.get("/v1/workspace/versions/2").json()
    assert [c["path"] for c in shown["changes"]] == ["scoring.yml"]
    assert any(f["path"] == "scoring.yml" for f in shown["files"])

    r = admin.post("/v1/workspace/rollback", json={"version": 1, "who": "bo", "why": "too far"})
    assert r.status_code == 200 and r.json()["version"] == 3
    assert "mql_threshold: 60" in (server.workspace / "scoring.yml").read_text()
    # plan 2 compared against v1; v3 is live now
    r = admin.post("/v1/workspace/apply", json={"who": "x", "why": "y", "plan_id": plan["plan_id"]})
    assert r.status_code == 409
    assert reader.get("/v1/workspace/versions/99").status_code == 404
    r = reader.post("/v1/workspace/plan", json={"since": "last tuesday"})
    assert r.status_code == 422 and r.json()["errors"][0]["where"] == "since"
