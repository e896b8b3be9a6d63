"""Segments over a real uvicorn server (SQLite and PostgreSQL) with scoped keys, and from the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert
from typer.testing import CliRunner

from marketops.cli import app
from marketops.services.capture import Batch, capture
from marketops.services.context import AppContext
from marketops.store.schema import activities
from marketops.testing.server import LiveServer, serve_workspace, stop_server
from marketops.workspace import Workspace
from marketops.workspace.scaffold import init_workspace

runner = CliRunner()


def _seed(ws: Path, url: str, n: int = 5) -> list[str]:
    """n leads in DE with a high fit, each with 3 pricing visits this week; returns their ids."""
    import os

    os.environ["MARKETOPS_DATABASE_URL"] = url
    try:
        ctx = AppContext.open(Workspace.load(ws))
    finally:
        os.environ.pop("MARKETOPS_DATABASE_URL")
    now = datetime.now(UTC)
    raws = [
        {
            "email": f"person{i}@acme.example",
            "country": "DE",
            "title": "VP Marketing",
            "employees": 800,
        }
        for i in range(n)
    ]
    ids = [o.lead_id for o in capture(ctx, Batch(raws, "test", [None] * n, [None] * n), now)]
    with ctx.engine.begin() as conn:
        conn.execute(
            insert(activities),
            [
                {
                    "lead_id": lid,
                    "type": "pricing_page",
                    "occurred_at": now - timedelta(days=d),
                    "details": {},
                }
                for lid in ids
                for d in (1, 2, 3)
            ],
        )
    ctx.close()
    return ids


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, dict[str, str], list[str]]]:
    ws = tmp_path_factory.mktemp("ws")
    init_workspace(ws, force=True)
    if request.param == "sqlite":
        url = f"sqlite:///{ws / 'api.db'}"
    else:
        url = request.getfixturevalue("postgres_server").create_database()
    server, tokens = serve_workspace(ws, url, ("ingest", "read"))
    ids = _seed(ws, url)
    yield server, tokens, ids
    stop_server(server)


def test_segments_api_lists_previews_pages_and_edits_lists(live) -> None:
    server, tokens, ids = live
    with server.client(tokens["read"]) as c:
        listed = {s["name"]: s for s in c.get("/v1/segments").json()}
        assert listed["open-support-ticket"]["suppression"] is True
        assert listed["do-not-email"]["kind"] == "list"
        shown = c.post("/v1/segments/hot-pricing-visitors/preview?sample=2").json()
        fits = shown["count"]
        assert len(shown["sample"]) == min(2, fits)
        tried = c.post(
            "/v1/segments/try-me/preview",
            json={"rule": {"activity": {"type": "pricing_page", "at_least": 3, "within_days": 7}}},
        ).json()
        assert tried["name"] == "try-me" and tried["count"] == len(ids)
        bad = c.post("/v1/segments/x/preview", json={"rule": {"activity": {"typo": 1}}})
        assert bad.status_code == 422 and "activity" in json.dumps(bad.json()["errors"])
        assert c.get("/v1/segments/nope").status_code == 404
        assert c.post("/v1/lists/do-not-email/members", json={"lead_ids": ids}).status_code == 403
    with server.client(None) as c:
        assert c.get("/v1/segments").status_code == 401
    with server.client(tokens["ingest"]) as c:
        added = c.post(
            "/v1/lists/do-not-email/members",
            json={
                "lead_ids": [*ids[:3], "missing"],
                "emails": ["PERSON4@acme.example", "x@y.example"],
            },
        ).json()
        assert added["added"] == 4
        assert added["unknown_lead_ids"] == ["missing"] and added["unknown_emails"] == [
            "x@y.example"
        ]
        removed = c.request("DELETE", "/v1/lists/do-not-email/members", json={"lead_ids": ids[:1]})
        assert removed.json()["removed"] == 1
        assert (
            c.post("/v1/lists/hot-pricing-visitors/members", json={"lead_ids": ids}).status_code
            == 422
        )
    with server.client(tokens["read"]) as c:
        assert c.get("/v1/segments/do-not-email").json()["members"] == 3
        first = c.get("/v1/segments/do-not-email/members?limit=2").json()
        rest = c.get(f"/v1/segments/do-not-email/members?limit=2&after={first['next']}").json()
        assert rest["next"] is None
        assert {m["lead_id"] for m in first["members"] + rest["members"]} == {
            ids[1],
            ids[2],
            ids[4],
        }


def test_segment_cli_preview_import_refresh_and_members(
    workspace_dir: Path, tmp_path: Path
) -> None:
    ids = _seed(workspace_dir, f"sqlite:///{workspace_dir / 'marketops.db'}")
    w = ["-w", str(workspace_dir)]
    snippet = tmp_path / "try.yml"
    snippet.write_text(
        "rule:\n  all:\n    - activity: {type: pricing_page, at_least: 3, within_days: 7}\n"
    )
    out = runner.invoke(app, ["segment", "preview", "--file", str(snippet), "--json", *w])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["count"] == len(ids)
    snippet.write_text("rule:\n  all:\n    - activity: {type: pricing_page, at_leest: 3}\n")
    out = runner.invoke(app, ["segment", "preview", "--file", str(snippet), *w])
    assert out.exit_code == 1 and f"{snippet}:3" in out.output and "at_leest" in out.output

    csv = tmp_path / "list.csv"
    csv.write_text(f"lead_id,email\n{ids[0]},\n,person1@acme.example\n,stranger@nowhere.example\n")
    out = runner.invoke(app, ["segment", "import", "webinar-2026-attendees", str(csv), *w])
    assert out.exit_code == 0, out.output
    assert "2 added" in out.output and "row 4: no lead with this email" in out.output
    out = runner.invoke(app, ["segment", "pending", "webinar-2026-attendees", "--json", *w])
    assert [r["row_number"] for r in json.loads(out.output)["pending"]] == [4]

    assert runner.invoke(app, ["segment", "refresh", *w]).exit_code == 0
    listed = json.loads(runner.invoke(app, ["segment", "list", "--json", *w]).output)
    counts = {r["name"]: r["members"] for r in listed}
    assert counts["webinar-2026-attendees"] == 2
    members = json.loads(
        runner.invoke(app, ["segment", "members", "webinar-2026-attendees", "--json", *w]).output
    )
    assert {m["lead_id"] for m in members["members"]} == {ids[0], ids[1]}
    shown = runner.invoke(app, ["segment", "show", "hot-pricing-visitors", "--sql", "--json", *w])
    assert "seg_activities" in json.loads(shown.output)["sql"]
    again = json.loads(runner.invoke(app, ["segment", "recompute", "--json", *w]).output)
    assert all(v["entered"] == v["exited"] == 0 for v in again.values())
