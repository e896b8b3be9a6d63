"""plan / apply / rollback / versions on a real store (SQLite file and PostgreSQL)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from governance_helpers import T0, seed

from marketops.errors import Conflict, MarketopsError, WorkspaceError
from marketops.governance import service
from marketops.governance.backtest import RuleSet
from marketops.governance.outcomes import parse_outcomes

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _people() -> list[dict]:
    def at(days: float) -> datetime:
        return T0 + timedelta(days=days)

    return [
        # executive (+25) + demo request (+40) = 65: an MQL at 60, not at 70
        {"id": "a1", "email": "ann@acme.example", "title": "VP Sales",
         "acts": [("demo_request", at(100), "need pricing")]},
        # 25 + 40 + 8 = 73: an MQL under both
        {"id": "b2", "email": "bob@acme.example", "title": "VP Sales",
         "acts": [("demo_request", at(100), None), ("content_download", at(100.1), None)]},
        # manager (+8) + 40 = 48: neither
        {"id": "c3", "email": "cy@acme.example", "title": "Sales Manager",
         "acts": [("demo_request", at(120), None)]},
        # active only long before the default period (90 days before NOW)
        {"id": "d4", "email": "di@acme.example", "title": "VP Sales",
         "acts": [("demo_request", at(1), None)]},
    ]  # fmt: skip


def _set_threshold(root: Path, value: int) -> None:
    p = root / "scoring.yml"
    text = p.read_text()
    import re

    p.write_text(re.sub(r"(?m)^mql_threshold: .*$", f"mql_threshold: {value}", text))


def test_plan_apply_change_rollback(ctx) -> None:  # type: ignore[no-untyped-def]
    root = ctx.workspace.root
    original = (root / "scoring.yml").read_bytes()
    seed(ctx.engine, _people())

    first = service.plan(ctx, now=NOW)
    assert first["live"] is None and first["valid"]
    assert {c["status"] for c in first["changes"]} == {"added"}
    assert "scoring.yml" in {c["path"] for c in first["changes"]}
    assert first["backtest"]["leads"] == 3  # d4 was active before the 90-day period
    v1 = service.apply(ctx, who="ana", why="baseline", now=NOW)
    assert v1["version"] == 1 and v1["plan_id"] == first["plan_id"]

    _set_threshold(root, 70)
    outcomes = parse_outcomes(
        [
            {"email": "ANN@acme.example ", "won": "true", "amount": "1200.50"},
            {"lead_id": "b2", "won": "won", "amount": "99"},
            {"email": "nobody@else.example", "won": "yes", "amount": "5"},
            {"lead_id": "c3", "won": "maybe"},
        ]
    )
    report = service.plan(ctx, now=NOW, all_history=True, outcomes=outcomes)
    assert [(c["path"], c["status"]) for c in report["changes"]] == [("scoring.yml", "modified")]
    assert "-mql_threshold: 60\n+mql_threshold: 70\n" in report["changes"][0]["diff"]
    bt = report["backtest"]
    assert bt["leads"] == 4 and bt["compared"].startswith("live v1")
    # a1 and d4 (65 points each) lose MQL status; b2 (73) keeps it
    assert (bt["mql"]["live"], bt["mql"]["candidate"], bt["mql"]["lost"]) == (3, 1, 2)
    assert bt["mql"]["examples_lost"] == ["a1", "d4"]
    o = bt["outcomes"]
    assert (o["won"], o["won_revenue"]) == (2, "1299.50")
    assert (o["won_losing_mql"], o["won_losing_mql_revenue"]) == (1, "1200.50")
    assert o["unknown_emails"] == 1 and o["unreadable"] == 1
    assert o["unreadable_rows"][0]["row"] == 5

    v2 = service.apply(ctx, who="ana", why="raise the MQL bar", now=NOW + timedelta(hours=1))
    assert v2["version"] == 2 and v2["impact"]["mql"]["lost"] == 2
    listing = service.list_versions(ctx)
    assert listing["live"] == 2 and listing["working_in_sync"]
    assert [v["version"] for v in listing["versions"]] == [2, 1]
    assert listing["versions"][0]["changed_files"] == ["scoring.yml"]
    assert listing["versions"][0]["why"] == "raise the MQL bar"
    (change,) = service.version_diff(ctx, 2)
    assert change.path == "scoring.yml" and "+mql_threshold: 70" in change.diff

    back = service.rollback(ctx, 1, who="bo", why="too strict", now=NOW + timedelta(hours=2))
    assert back == {"version": 3, "restored": 1, "written": ["scoring.yml"], "removed": []}
    assert (root / "scoring.yml").read_bytes() == original
    listing = service.list_versions(ctx)
    assert listing["versions"][0]["rolled_back_to"] == 1 and listing["working_in_sync"]
    assert ctx.config.scoring.config.mql_threshold == 60  # the context follows the live rules
    assert service.version_diff(ctx, 1, 3) == []


def test_apply_refuses_unplanned_changed_stale_or_invalid(ctx) -> None:  # type: ignore[no-untyped-def]
    root = ctx.workspace.root
    with pytest.raises(MarketopsError, match="no plan"):
        service.apply(ctx, who="ana", why="x", now=NOW)
    p1 = service.plan(ctx, now=NOW)
    with pytest.raises(MarketopsError, match="who is required"):
        service.apply(ctx, who=" ", why="x", now=NOW)
    service.apply(ctx, who="ana", why="baseline", now=NOW)
    service.plan(ctx, now=NOW)
    with pytest.raises(MarketopsError, match="nothing to apply"):
        service.apply(ctx, who="ana", why="again", now=NOW)

    _set_threshold(root, 70)
    p70 = service.plan(ctx, now=NOW)
    _set_threshold(root, 71)
    with pytest.raises(Conflict, match="files changed since plan"):
        service.apply(ctx, who="ana", why="x", now=NOW, plan_id=p70["plan_id"])
    service.plan(ctx, now=NOW)
    service.apply(ctx, who="bo", why="71 it is", now=NOW)  # v2, from the same base as p70
    _set_threshold(root, 70)
    with pytest.raises(Conflict, match="live version changed since plan"):
        service.apply(ctx, who="ana", why="x", now=NOW)  # finds p70 by the files' hash
    assert p1["plan_id"] < p70["plan_id"]

    (root / "scoring.yml").write_text("mql_threshold: [not a number]\n")
    broken = service.plan(ctx, now=NOW)
    assert not broken["valid"] and broken["backtest"] is None
    assert any("scoring.yml" in p["where"] for p in broken["problems"])
    with pytest.raises(WorkspaceError, match="not applied"):
        service.apply(ctx, who="ana", why="x", now=NOW)
    with pytest.raises(Conflict, match="never applied"):
        service.rollback(ctx, 1, who="ana", why="undo", now=NOW)
    out = service.rollback(ctx, 1, who="ana", why="undo", now=NOW, force=True)
    assert out["version"] == 3
    assert "mql_threshold: 60" in (root / "scoring.yml").read_text()
    listing = service.list_versions(ctx)
    assert listing["working_in_sync"] and listing["versions"][0]["rolled_back_to"] == 1


def test_parallel_backtest_equals_in_process(ctx) -> None:  # type: ignore[no-untyped-def]
    rnd = random.Random(3)
    titles = ["VP Sales", "Sales Manager", "Student", "Director", None]
    acts = ["demo_request", "pricing_page", "webinar", "form_fill"]
    people = []
    for i in range(400):
        t = T0 + timedelta(days=rnd.uniform(0, 100))
        people.append(
            {
                "id": f"{rnd.getrandbits(128):032x}",
                "email": f"p{i}@corp.example",
                "title": rnd.choice(titles),
                "country": rnd.choice(["US", "DE", "JP", None]),
                "region": None,
                "employees": rnd.choice([10, 500, 5000, None]),
                "flags": {"free_mail": rnd.random() < 0.3},
                "acts": [
                    (rnd.choice(acts), t + timedelta(days=k * rnd.uniform(0, 9)), None)
                    for k in range(rnd.choice([1, 1, 2, 4]))
                ],
            }
        )
    seed(ctx.engine, people)
    ws = ctx.workspace
    live = RuleSet.compile(ws.scoring, ws.routing, ws.lifecycle)
    cand = RuleSet.compile(
        ws.scoring.model_copy(update={"mql_threshold": 45}), ws.routing, ws.lifecycle
    )
    args = {"since": T0 + timedelta(days=30), "until": NOW}
    one = service.run_backtest(ctx.engine, live, cand, **args, workers=1)
    two = service.run_backtest(ctx.engine, live, cand, **args, workers=2, parallel_from=0)
    assert one.leads == two.leads > 250
    assert sorted(one.mql_gained) == sorted(two.mql_gained) and one.mql_gained
    assert one.moves == two.moves and one.stages_candidate == two.stages_candidate
    assert sorted(one.scores_candidate) == sorted(two.scores_candidate)


def test_rollback_removes_only_files_that_were_governed_and_absent_then(ctx) -> None:  # type: ignore[no-untyped-def]
    root = ctx.workspace.root
    channels = (root / "channels.yml").read_text()
    (root / "channels.yml").unlink()  # governed at v1, and absent
    (root / "governance.yml").write_text("files: [scoring.yml, routing.yml, channels.yml]\n")
    service.plan(ctx, now=NOW)
    service.apply(ctx, who="ana", why="v1", now=NOW)
    assert service.list_versions(ctx)["versions"][0]["governed"][:2] == [
        "scoring.yml",
        "routing.yml",
    ]

    (root / "channels.yml").write_text(channels)
    (root / "governance.yml").write_text(
        "files: [scoring.yml, routing.yml, channels.yml, taxonomy.yml]\n"
    )
    _set_threshold(root, 65)
    service.plan(ctx, now=NOW)
    service.apply(ctx, who="ana", why="v2", now=NOW)

    out = service.rollback(ctx, 1, who="ana", why="back", now=NOW)
    assert out["removed"] == ["channels.yml"]  # governed and absent at v1
    assert (root / "taxonomy.yml").exists()  # not governed at v1: left alone
    assert "mql_threshold: 60" in (root / "scoring.yml").read_text()
    listing = service.list_versions(ctx)
    assert listing["working_in_sync"] and listing["versions"][0]["rolled_back_to"] == 1


def test_backtest_routes_named_accounts_to_their_owners(ctx) -> None:  # type: ignore[no-untyped-def]
    """`account_owner` rules match the workspace CSV's and the store's accounts in the replay."""
    from marketops.routing.accounts import Account, upsert_accounts

    with ctx.engine.begin() as conn:
        upsert_accounts(
            conn, [Account("ACC-9", "Globex Corporation", "globex.example", "zoe.ae")], NOW
        )
    at = T0 + timedelta(days=100)
    people = [  # each an MQL (VP + demo request = 65), so past the not-yet-mql rule
        {"id": f"n{i}", "email": f"vp{i}@{domain}", "title": "VP Sales", "company_domain": domain,
         "acts": [("demo_request", at, None)]}
        for i, domain in enumerate(["aperture.example", "globex.example", "nobody.example"])
    ]  # fmt: skip
    seed(ctx.engine, people)
    routed = service.plan(ctx, now=NOW)["backtest"]["routing"]["live"]
    assert routed["owner:dan.ae"] == 1  # the CSV's Aperture Science
    assert routed["owner:zoe.ae"] == 1  # imported into the store
    assert "owner:carla.ae" not in routed
