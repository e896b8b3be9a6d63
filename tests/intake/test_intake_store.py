"""Requests and launches through the services on a real SQLite file and a real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from intake_assets import BAD_HTML, GOOD_HTML
from intake_cases import utc
from sqlalchemy import select

from marketops.errors import Conflict, MarketopsError
from marketops.ops.intake.requests import NewRequest
from marketops.ops.intake.service import (
    create_request,
    intake_metrics,
    list_requests,
    log_experiment,
    move_request,
    pause_request,
    request_view,
    resume_request,
)
from marketops.ops.launches import LaunchRefused, NewLaunch
from marketops.ops.launches.usecases import (
    add_asset,
    cancel_launch,
    check_launch,
    launch_view,
    schedule_launch,
    ship_launch,
)
from marketops.store.tables_intake import intake_audit, intake_launch_bookings

FIELD = {"object": "lead", "field_name": "lead_source_detail", "purpose": "reporting"}
LAUNCH_INPUTS = {"campaign_name": "2026-11_retention_smb", "audience": "customers"}


def field_request(ctx, at, **kw):
    new = NewRequest(
        type="add-field", title="Add a field", requester="pat@example.com", inputs=FIELD, **kw
    )
    return create_request(ctx, new, now=at, actor="pat")[0]


def launch_request(ctx, at):
    new = NewRequest(
        type="launch-campaign",
        title="November newsletter",
        requester="sam@example.com",
        inputs=LAUNCH_INPUTS,
        template="newsletter",
    )
    return create_request(ctx, new, now=at, actor="sam")[0]


def test_dst_week_metrics_from_the_store(ctx) -> None:
    """The histories of intake_cases replayed through the services give the hand-computed KPIs
    (the example workspace's us-east-business calendar is 09:00-17:00 New York, Mon-Fri)."""
    a = field_request(ctx, utc(2026, 10, 30, 20))["id"]
    b = field_request(ctx, utc(2026, 11, 2, 14))["id"]
    c = launch_request(ctx, utc(2026, 10, 30, 20))["id"]
    move_request(ctx, a, "triaged", actor="ops", now=utc(2026, 11, 2, 14, 30))
    move_request(ctx, a, "in_progress", actor="ops", now=utc(2026, 11, 2, 14, 45))
    paused = pause_request(ctx, a, actor="ops", now=utc(2026, 11, 2, 15), note="which object?")
    assert paused["state"] == "waiting_on_requester"
    assert resume_request(ctx, a, actor="ops", now=utc(2026, 11, 2, 20))["state"] == "in_progress"
    move_request(ctx, a, "qa", actor="ops", now=utc(2026, 11, 3, 15))
    move_request(ctx, a, "done", actor="ops", now=utc(2026, 11, 4, 17))
    for to, at in [
        ("triaged", utc(2026, 11, 2, 14)),
        ("in_progress", utc(2026, 11, 2, 15)),
        ("qa", utc(2026, 11, 2, 18)),
    ]:
        move_request(ctx, c, to, actor="ops", now=at)
    scheduled = move_request(ctx, c, "scheduled", actor="ops", now=utc(2026, 11, 2, 19))
    # the email train: weekdays 14:00 London (GMT in November), capacity 1
    assert scheduled["launches"][0]["launch_at"] == "2026-11-03T14:00:00+00:00"
    live = move_request(ctx, c, "live", actor="ops", now=utc(2026, 11, 3, 15, 30))
    assert live["state"] == "live" and live["live_at"] == "2026-11-03T15:30:00+00:00"

    now = utc(2026, 11, 5, 17)
    view_a = request_view(ctx, a, now=now)
    done = next(s for s in view_a["sla"] if s["goal"] == "time to done")["cycles"][0]
    assert done["elapsed_hours"] == 15.0 and done["met"]
    m = intake_metrics(ctx, now=now, since=utc(2026, 10, 1), until=utc(2026, 12, 1)).to_dict()
    assert m["time_to_campaign"]["all"]["calendar"]["median_hours"] == 91.5
    assert m["time_to_campaign"]["all"]["business"]["median_hours"] == 10.5
    assert m["sla_adherence"]["simple"]["time to done"] == {
        "met": 1,
        "breached": 1,
        "pending": 0,
        "adherence": 0.5,
    }
    # B and C (live, not yet done) are open; neither is 14 days old
    assert m["backlog_aging"]["all"] == {"open": 2, "older_than_14d": 0, "share_aged": 0.0}
    assert m["template_reuse"] == {"eligible": 1, "used_template": 1, "rate": 1.0}
    assert [r["id"] for r in list_requests(ctx, open_only=True)] == [c, b]  # same priority: oldest


def test_moves_are_checked_and_conflicts_reported(ctx) -> None:
    t = utc(2026, 11, 2, 14)
    rid = field_request(ctx, t)["id"]
    with pytest.raises(Conflict, match="cannot move from new to qa"):
        move_request(ctx, rid, "qa", actor="ops", now=t)
    with pytest.raises(Conflict, match="not paused"):
        resume_request(ctx, rid, actor="ops", now=t)
    with pytest.raises(MarketopsError, match="unknown state"):
        move_request(ctx, rid, "shipped", actor="ops", now=t)
    # the same idempotency key gives back the first request
    new = NewRequest(type="add-field", title="x", requester="y", inputs=FIELD)
    first, created = create_request(ctx, new, now=t, actor="api", idempotency_key="k1")
    again, created_again = create_request(ctx, new, now=t, actor="api", idempotency_key="k1")
    assert created and not created_again and first["id"] == again["id"]


def test_train_capacity_holds_under_concurrent_scheduling(ctx) -> None:
    """Seven schedulers race for the web train (Tue/Thu 10:00 New York, capacity 3)."""
    after = utc(2026, 11, 2, 12)
    barrier = threading.Barrier(7)
    results: list[dict] = []
    errors: list[BaseException] = []

    def book(i: int) -> None:
        try:
            barrier.wait()
            results.append(
                schedule_launch(
                    ctx,
                    NewLaunch(name=f"launch {i}", train="web", after=after),
                    actor="ops",
                    now=after,
                )
            )
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=book, args=(i,)) for i in range(7)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    per_window = Counter(r["launch_at"] for r in results)
    assert per_window == {
        "2026-11-03T15:00:00+00:00": 3,  # Tue 10:00 EST
        "2026-11-05T15:00:00+00:00": 3,  # Thu
        "2026-11-10T15:00:00+00:00": 1,
    }
    with ctx.engine.connect() as conn:
        seats = conn.execute(select(intake_launch_bookings.c.seat)).scalars().all()
    assert sorted(seats) == [1, 1, 1, 2, 2, 3, 3]


def test_freeze_refuses_unless_overridden_and_the_override_is_audited(ctx) -> None:
    now = utc(2026, 11, 2, 12)
    friday = utc(2026, 11, 6, 21)  # Fri 16:00 EST: inside friday-afternoon
    with pytest.raises(LaunchRefused, match="freeze") as exc:
        schedule_launch(ctx, NewLaunch(name="fix", at=friday), actor="ops", now=now)
    assert exc.value.problems[0].where == "freeze friday-afternoon"
    v = schedule_launch(
        ctx,
        NewLaunch(name="fix", at=friday, override_reason="pricing bug, CMO approved"),
        actor="alex",
        now=now,
    )
    assert v["freeze"] == {"allowed": True, "overridden": True, "blocked_by": ["friday-afternoon"]}
    (trail,) = v["audit"]
    assert trail["actor"] == "alex" and trail["reason"] == "pricing bug, CMO approved"
    assert trail["action"] == "freeze_override" and trail["at"] == now.isoformat()
    assert trail["details"]["freezes"][0]["name"] == "friday-afternoon"
    # shipping inside the freeze needs its own reason, audited too
    with pytest.raises(LaunchRefused):
        ship_launch(ctx, v["id"], actor="alex", now=friday)
    shipped = ship_launch(ctx, v["id"], actor="alex", now=friday, override_reason="still urgent")
    assert shipped["state"] == "live" and shipped["shipped_by"] == "alex"
    with ctx.engine.connect() as conn:
        reasons = conn.execute(select(intake_audit.c.reason).order_by(intake_audit.c.id)).scalars()
        assert list(reasons) == ["pricing bug, CMO approved", "still urgent"]


def test_blockers_stop_a_scheduled_launch_until_fixed(ctx) -> None:
    t0 = utc(2026, 11, 2, 13)
    rid = launch_request(ctx, t0)["id"]
    for to in ("triaged", "in_progress", "qa", "scheduled"):
        move_request(ctx, rid, to, actor="ops", now=t0)
    lid = request_view(ctx, rid, now=t0)["launches"][0]["id"]
    add_asset(ctx, lid, name="nov.html", content=BAD_HTML, kind="html", page=False, now=t0)
    checked = check_launch(ctx, lid, now=t0)
    asset = checked["assets"][0]["preflight"]
    assert not checked["preflight_ok"] and asset["blockers"] >= 3
    assert {"unsubscribe", "postal_address", "utm"} <= {
        f["check"] for f in asset["findings"] if f["severity"] == "blocker"
    }
    ship_at = utc(2026, 11, 3, 14)
    with pytest.raises(LaunchRefused, match="pre-flight blocker") as exc:
        move_request(ctx, rid, "live", actor="ops", now=ship_at)
    assert any("[unsubscribe]" in p.message for p in exc.value.problems)
    assert request_view(ctx, rid, now=ship_at)["state"] == "scheduled"
    # the fixed asset has not been checked yet: ship runs pre-flight on it and keeps the report
    add_asset(ctx, lid, name="nov.html", content=GOOD_HTML, kind="html", page=False, now=ship_at)
    assert launch_view(ctx, lid)["assets"][0]["preflight"]["current"] is False
    moved = move_request(ctx, rid, "live", actor="ops", now=ship_at)
    assert moved["state"] == "live"
    view = launch_view(ctx, lid)
    assert view["state"] == "live" and view["assets"][0]["preflight"]["current"]
    assert view["assets"][0]["preflight"]["can_ship"]


def test_cancel_frees_the_seat_and_returns_the_request_to_qa(ctx) -> None:
    t0 = utc(2026, 11, 2, 13)
    rid = launch_request(ctx, t0)["id"]
    for to in ("triaged", "in_progress", "qa", "scheduled"):
        move_request(ctx, rid, to, actor="ops", now=t0)
    first = request_view(ctx, rid, now=t0)["launches"][0]
    lid = first["id"]
    assert first["launch_at"] == "2026-11-02T14:00:00+00:00"  # Mon 14:00 London
    cancel_launch(ctx, lid, actor="ops", now=t0)
    assert request_view(ctx, rid, now=t0)["state"] == "qa"
    again = move_request(ctx, rid, "scheduled", actor="ops", now=t0)
    # the email train has capacity 1: the freed seat is taken again
    assert [x["state"] for x in again["launches"]] == ["cancelled", "scheduled"]
    assert again["launches"][-1]["launch_at"] == first["launch_at"]


def test_experiment_log_feeds_the_kpis(ctx) -> None:
    from decimal import Decimal

    now = utc(2026, 11, 30)
    log_experiment(
        ctx,
        key="hero",
        concluded_on=dt.date(2026, 10, 5),
        required_per_arm=1000,
        units_per_arm=[1200, 1010],
        direct_cost=Decimal("300.00"),
        now=now,
    )
    log_experiment(
        ctx,
        key="cta",
        concluded_on=dt.date(2026, 11, 5),
        required_per_arm=1000,
        units_per_arm=[400, 420],
        direct_cost=Decimal("100.00"),
        now=now,
    )
    log_experiment(
        ctx,
        key="form",
        concluded_on=dt.date(2026, 11, 9),
        required_per_arm=500,
        units_per_arm=[600, 700],
        direct_cost=Decimal("0"),
        now=now,
    )
    with pytest.raises(MarketopsError):
        log_experiment(
            ctx,
            key="bad",
            concluded_on=dt.date(2026, 11, 9),
            required_per_arm=0,
            units_per_arm=[1],
            direct_cost=Decimal("-1"),
            now=now,
        )
    e = intake_metrics(
        ctx,
        now=now,
        since=utc(2026, 10, 1),
        until=utc(2026, 12, 1),
        shared_experiment_cost=Decimal("1200"),
    ).to_dict()["experiments"]
    assert e["per_month_meeting_power"] == {"2026-10": 1, "2026-11": 1}
    # (1200 + 300 + 100 + 0) / 3 = 533.33; over the 2 powered ones: 800.00
    assert e["cost_per_experiment"] == "533.33" and e["cost_per_powered_experiment"] == "800.00"
