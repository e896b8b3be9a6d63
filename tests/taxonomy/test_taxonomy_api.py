"""The taxonomy routes through the real app (SQLite store in a temp workspace, real API key)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from marketops.api.app import create_app
from marketops.workspace import Workspace


@pytest.fixture
def client(workspace_dir: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    app = create_app(Workspace.load(workspace_dir))
    _, token = app.state.ctx.keys.create("taxonomy-test", ["read"])
    with TestClient(app) as c:
        yield c, {"Authorization": f"Bearer {token}"}


def test_build_utm(client: tuple[TestClient, dict[str, str]]) -> None:
    c, auth = client
    r = c.post(
        "/v1/utm",
        headers=auth,
        json={
            "url": "https://shop.io/p?x=1#top",
            "source": "Google",
            "medium": "cpc",
            "campaign": "2025-01_leads_smb",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "url": "https://shop.io/p?x=1&utm_source=google&utm_medium=cpc"
        "&utm_campaign=2025-01_leads_smb#top"
    }


def test_build_utm_blocked_lists_the_rules(client: tuple[TestClient, dict[str, str]]) -> None:
    c, auth = client
    r = c.post(
        "/v1/utm",
        headers=auth,
        json={
            "url": "https://shop.io/",
            "source": "linkedin",
            "medium": "cpc",
            "parts": {"objective": "leads", "audience": "smb"},
        },
    )
    assert r.status_code == 422
    assert [e["where"] for e in r.json()["errors"]] == ["utm_source"]


def test_check_and_auth(client: tuple[TestClient, dict[str, str]]) -> None:
    c, auth = client
    body = {
        "urls": [
            "https://shop.io/?utm_source=google&utm_medium=cpc&utm_campaign=2025-01_leads_smb",
            "https://shop.io/",
        ]
    }
    assert c.post("/v1/utm/check", json=body).status_code == 401
    data = c.post("/v1/utm/check", headers=auth, json=body).json()
    assert data["compliance_pct"] == 50.0
    assert {v["field"] for v in data["violations"]} == {"utm_source", "utm_medium", "utm_campaign"}


def test_classify(client: tuple[TestClient, dict[str, str]]) -> None:
    c, auth = client
    r = c.post(
        "/v1/channels/classify",
        headers=auth,
        json={
            "explain": True,
            "rows": [
                {"source": "google", "medium": "cpc"},
                {"source": "facebook", "medium": "social"},
                {},
            ],
        },
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "ruleset": "ga4-default@2023-11-04",
        "channels": ["Paid Search", "Organic Social", "Direct"],
        "rules": ["paid_search", "organic_social", "direct"],
    }
    rules = c.get("/v1/channels/rules", headers=auth).json()
    assert len(rules["rules"]) == 18 and rules["version"] == "2023-11-04"
