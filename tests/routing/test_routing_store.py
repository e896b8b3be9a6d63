"""Routing on a real store: capacity under concurrent captures, account matching, the audit."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from routing_helpers import edit_yaml, open_ctx

from marketops.errors import MarketopsError
from marketops.routing.accounts import read_accounts_csv
from marketops.routing.service import import_accounts, why
from marketops.services.leads import capture_one

NOW = datetime(2026, 11, 24, 15, tzinfo=UTC)


def test_capacity_holds_under_concurrent_captures(workspace_dir, backend_url, monkeypatch) -> None:
    def cap(data):
        q = next(q for q in data["queues"] if q["name"] == "commercial")
        q["members"] = [{"name": "hugo.sdr", "capacity": 4}, {"name": "iris.sdr", "capacity": 2}]

    edit_yaml(workspace_dir / "routing.yml", cap)
    ctx = open_ctx(workspace_dir, backend_url, monkeypatch)
    leads = [
        {
            "email": f"buyer{i}@gmail.com",
            "title": "CEO",
            "activity": "demo_request",
            "country": "US",
        }
        for i in range(10)
    ]
    try:
        with ThreadPoolExecutor(6) as pool:
            results = list(pool.map(lambda p: capture_one(ctx, p, NOW), leads))
        owners = Counter(b["assignment"]["owner"] for _, b in results)
        assert {r["assignment"]["queue"] for _, r in results} == {"commercial"}
        assert owners == {"hugo.sdr": 4, "iris.sdr": 2, None: 4}
        held = next(b["id"] for _, b in results if b["assignment"]["owner"] is None)
        reasons = why(ctx, held)["decisions"][0]["reasons"]
        assert "hugo.sdr: skipped, at capacity (4/4 open leads)" in reasons
        assert "iris.sdr: skipped, at capacity (2/2 open leads)" in reasons
        assert reasons[-1] == "no member available; the lead waits in the queue unassigned"
    finally:
        ctx.close()


def test_capacity_holds_for_a_member_of_two_queues(workspace_dir, backend_url, monkeypatch) -> None:
    """Captures routed to two queues at once that share a member: their capacity is one count."""

    def share(data):
        for q in data["queues"]:
            if q["name"] in ("commercial", "emea"):
                q["members"] = [{"name": "hugo.sdr", "capacity": 3}]

    edit_yaml(workspace_dir / "routing.yml", share)
    ctx = open_ctx(workspace_dir, backend_url, monkeypatch)
    leads = [
        {
            "email": f"buyer{i}@gmail.com",
            "title": "CEO",
            "activity": "demo_request",
            "country": "US" if i % 2 else "DE",  # everyone-else -> commercial; emea -> emea
        }
        for i in range(12)
    ]
    try:
        with ThreadPoolExecutor(6) as pool:
            results = list(pool.map(lambda p: capture_one(ctx, p, NOW), leads))
        queues = Counter(b["assignment"]["queue"] for _, b in results)
        assert queues == {"commercial": 6, "emea": 6}
        owners = Counter(b["assignment"]["owner"] for _, b in results)
        assert owners == {"hugo.sdr": 3, None: 9}
    finally:
        ctx.close()


def test_account_matching_domain_then_fuzzy_name(ctx, tmp_path) -> None:
    csv = tmp_path / "accounts.csv"
    csv.write_text(
        "account_id,name,domain,owner\n"
        "A-1,Globex Corporation,globex.example,carla.ae\n"
        "A-2,Vandelay Industries Inc.,,dan.ae\n"
    )
    assert import_accounts(ctx, csv, NOW) == {"rows": 2, "inserted": 2, "updated": 0}
    hot = {"title": "CEO", "activity": "demo_request", "message": "demo"}
    _, by_domain = capture_one(ctx, {"email": "x@globex.example", **hot}, NOW)
    assert by_domain["assignment"] == {
        "queue": None,
        "owner": "carla.ae",
        "rule": "named-account",
        "changed": True,
    }
    _, fuzzy = capture_one(
        ctx, {"email": "y@vdl.example", "company": "Vandeley Industries", **hot}, NOW
    )
    assert fuzzy["assignment"]["owner"] == "dan.ae"
    reason = why(ctx, fuzzy["id"])["decisions"][0]["reasons"][0]
    assert reason.startswith(
        "rule named-account: account A-2 (Vandelay Industries Inc.) matched"
        " on company name, similarity 9"
    )
    _, other = capture_one(
        ctx, {"email": "z@vlog.example", "company": "Vandelay Logistics", **hot}, NOW
    )
    assert other["assignment"]["queue"] == "inbound-sdr"  # below the threshold: next rule
    # re-import updates in place; the workspace CSV's accounts still match
    csv.write_text("account_id,name,domain,owner\nA-1,Globex Corporation,globex.example,dan.ae\n")
    assert import_accounts(ctx, csv, NOW)["updated"] == 1
    _, moved = capture_one(ctx, {"email": "w@globex.example", **hot}, NOW)
    assert moved["assignment"]["owner"] == "dan.ae"
    _, wayne = capture_one(ctx, {"email": "b@wayne.example", **hot}, NOW)
    assert wayne["assignment"]["owner"] == "carla.ae"


def test_bad_accounts_file_names_the_rows(tmp_path) -> None:
    bad = tmp_path / "a.csv"
    bad.write_text("account_id,name,domain,owner\nA-1,Ok,ok.example,x\n,NoId,,y\nA-3,,,\n")
    with pytest.raises(MarketopsError) as err:
        read_accounts_csv(bad)
    assert [p.where for p in err.value.problems] == [f"{bad}:3", f"{bad}:4"]
    (tmp_path / "b.csv").write_text("id,name\n1,x\n")
    with pytest.raises(MarketopsError, match="lacks columns"):
        read_accounts_csv(tmp_path / "b.csv")


def test_new_owner_is_notified_through_the_outbox(workspace_dir, backend_url, monkeypatch) -> None:
    from sqlalchemy import select

    from marketops.store.tables_notify import outbox

    edit_yaml(workspace_dir / "routing.yml", lambda d: d.update(notify_owner="slack"))
    ctx = open_ctx(workspace_dir, backend_url, monkeypatch)
    try:
        hot = {"title": "CEO", "activity": "demo_request", "message": "demo"}
        _, first = capture_one(ctx, {"email": "n1@acme.example", **hot}, NOW)
        _, again = capture_one(ctx, {"email": "n1@acme.example", **hot}, NOW)  # sticky: no news
        assert again["assignment"]["changed"] is False
        with ctx.engine.connect() as conn:
            sent = [dict(r._mapping) for r in conn.execute(select(outbox))]
        assert len(sent) == 1
        assert (sent[0]["channel"], sent[0]["destination"]) == ("slack", "owner:ava.sdr")
        assert sent[0]["payload"]["lead_id"] == first["id"]
        assert "@" not in str(sent[0]["payload"])  # no PII in the message
    finally:
        ctx.close()
