"""POST /v1/experiments/plan and /v1/experiments/analyze on the real app (FastAPI TestClient)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from marketops.api.app import create_app
from marketops.workspace import Workspace
from marketops.workspace.scaffold import init_workspace


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    root = tmp_path_factory.mktemp("exp") / "ws"
    init_workspace(root)  # `marketops init`: includes the example experiments.yml
    app = create_app(Workspace.load(root))
    _, secret = app.state.ctx.keys.create("experiments-test", ["read"])
    with TestClient(app) as c:
        yield c, {"Authorization": f"Bearer {secret}"}
    app.state.ctx.close()


def test_plan(client: tuple[TestClient, dict[str, str]]) -> None:
    c, auth = client
    # R power.prop.test(p1 = .50, p2 = .75, power = .90) => n = 76.7
    r = c.post(
        "/v1/experiments/plan",
        headers=auth,
        json={
            "kind": "proportion",
            "baseline": 0.5,
            "mde": 0.25,
            "effect_type": "absolute",
            "power": 0.9,
            "traffic_per_day": 50,
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["n_per_arm"] == 77 and body["duration_days"] == 4
    assert body["relative_effect"] == pytest.approx(0.5)


def test_plan_needs_a_key_and_valid_input(client: tuple[TestClient, dict[str, str]]) -> None:
    c, auth = client
    assert c.post("/v1/experiments/plan", json={"kind": "mean"}).status_code == 401
    r = c.post(
        "/v1/experiments/plan", headers=auth, json={"kind": "mean", "baseline": 5, "mde": 0.1}
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["where"] == "sd"


def test_analyze_with_workspace_experiment(client: tuple[TestClient, dict[str, str]]) -> None:
    c, auth = client
    rows = [
        {"variant": "control", "metric": "signup", "users": 10000, "sum": 500},
        {"variant": "proof_hero", "metric": "signup", "users": 10000, "sum": 600},
        {
            "variant": "control",
            "metric": "revenue",
            "users": 10000,
            "sum": 41000,
            "sum_squares": 9500000,
        },
        {
            "variant": "proof_hero",
            "metric": "revenue",
            "users": 10000,
            "sum": 43500,
            "sum_squares": 10200000,
        },
        {"variant": "control", "metric": "demo_request", "users": 10000, "sum": 300},
        {"variant": "proof_hero", "metric": "demo_request", "users": 10000, "sum": 220},
    ]
    r = c.post(
        "/v1/experiments/analyze",
        headers=auth,
        json={"rows": rows, "experiment": "homepage-hero-2026q4"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    verdicts = {x["metric"]: x["verdict"] for x in body["comparisons"]}
    assert verdicts["signup"] == "win" and verdicts["demo_request"] == "degraded"
    assert any("guardrail demo_request" in b for b in body["blockers"])


def test_analyze_bad_rows_are_422_with_each_row(client: tuple[TestClient, dict[str, str]]) -> None:
    c, auth = client
    r = c.post(
        "/v1/experiments/analyze",
        headers=auth,
        json={
            "rows": [
                {"variant": "a", "metric": "m", "users": 100, "sum": 10},
                {"variant": "b", "metric": "m", "users": -1, "sum": 1},
                {"variant": "b", "metric": "n", "users": 10, "sum": "x"},
            ]
        },
    )
    assert r.status_code == 422
    assert [e["where"] for e in r.json()["errors"]] == ["rows:2", "rows:3"]
