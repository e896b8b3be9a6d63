"""Publishing, pinned versions and declared migrations; pause/resume/stop; file:line errors;
the history replay (simulate) against what the worker really does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from journeys_helpers import Clock, enrolment, lead, runs, write_journey

from marketops.errors import MarketopsError, WorkspaceError
from marketops.journeys import service
from marketops.journeys.runner import drain
from marketops.journeys.simulate import simulate
from marketops.journeys.triggers import enrol
from marketops.journeys.versions import publish
from marketops.lifecycle.service import record_activity
from marketops.workspace import validate_workspace

V1 = {
    "entry": {"activity": "webinar"},
    "steps": [
        {"id": "hello", "webhook": {"url": "https://hooks.example/v1"}},
        {"id": "wait", "wait": {"delay": "1d"}},
        {"id": "bye", "update_field": {"field": "seen", "value": "v1"}},
    ],
}
V2 = {
    "entry": {"activity": "webinar"},
    "steps": [
        {"id": "hello", "webhook": {"url": "https://hooks.example/v2"}},
        {"id": "pause", "wait": {"delay": "2d"}},
        {"id": "bye2", "update_field": {"field": "seen", "value": "v2"}},
    ],
}


def test_versions_pin_people_and_migrations_move_them(ctx) -> None:
    clock = Clock()
    root = ctx.workspace.root
    write_journey(root, "wb", V1)
    assert publish(ctx, "wb", now=clock())["version"] == 1
    assert publish(ctx, "wb", now=clock())["published"] is False  # unchanged: nothing
    a = lead(ctx, "a@v.example", clock())
    b = lead(ctx, "b@v.example", clock())
    enrol(ctx, "wb", a, now=clock())
    drain(ctx, clock)
    # v2 without a migration: `a` stays on v1; `b` enters v2
    write_journey(root, "wb", V2)
    assert publish(ctx, "wb", now=clock()) == {
        "journey": "wb",
        "version": 2,
        "published": True,
        "migrated": 0,
    }
    enrol(ctx, "wb", b, now=clock())
    drain(ctx, clock)
    assert (enrolment(ctx, "wb", a)["version"], enrolment(ctx, "wb", b)["version"]) == (1, 2)
    clock.advance(days=1)
    drain(ctx, clock)
    assert enrolment(ctx, "wb", a)["status"] == "completed"  # finished on v1's 1-day wait
    assert enrolment(ctx, "wb", b)["step"] == "pause"
    # v3 declares a migration from v2: `b` moves, its wait keeps its start (2 days from entry)
    c = lead(ctx, "c@v.example", clock())
    enrol(ctx, "wb", c, now=clock() - timedelta(days=1))
    v3 = {**V2, "migrate_from": {"version": 2, "map": {"pause": "hold"}}}
    v3["steps"] = [
        V2["steps"][0],
        {"id": "hold", "wait": {"delay": "2d"}},
        {"id": "v3", "update_field": {"field": "seen", "value": "v3"}},
    ]
    write_journey(root, "wb", v3)
    out = publish(ctx, "wb", now=clock())
    assert (out["version"], out["migrated"]) == (3, 1)
    e = enrolment(ctx, "wb", b)
    assert (e["version"], e["step"]) == (3, "hold")
    clock.advance(days=1)
    drain(ctx, clock)
    assert enrolment(ctx, "wb", b)["status"] == "completed"
    steps_b = [
        r["step"] for r in runs(ctx, "wb") if r["enrolment_id"] == enrolment(ctx, "wb", b)["id"]
    ]
    assert steps_b == ["hello", "hold", "v3"]
    # a migration naming a step that does not exist is refused with where
    bad = {**v3, "migrate_from": {"version": 3, "map": {"nope": "hold"}}}
    bad["steps"] = [*v3["steps"], {"id": "extra", "exit": {}}]
    write_journey(root, "wb", bad)
    with pytest.raises(MarketopsError) as err:
        publish(ctx, "wb", now=clock())
    assert "migrate_from.map.nope" in str(err.value)


def test_pause_resume_stop(ctx) -> None:
    clock = Clock()
    write_journey(ctx.workspace.root, "wb", V1)
    publish(ctx, "wb", now=clock())
    a = lead(ctx, "p@v.example", clock())
    b = lead(ctx, "q@v.example", clock())
    enrol(ctx, "wb", a, now=clock())
    drain(ctx, clock)
    service.pause(ctx, "wb", now=clock(), reason="copy review")
    clock.advance(days=2)
    # while paused: the due step waits, and an activity trigger does not enter anyone yet
    record_activity(ctx, b, "meeting", actor="x", now=clock())  # not the trigger
    drain(ctx, clock)
    assert enrolment(ctx, "wb", a)["step"] == "wait"
    service.resume(ctx, "wb", now=clock())
    drain(ctx, clock)
    assert enrolment(ctx, "wb", a)["status"] == "completed"
    enrol(ctx, "wb", b, now=clock())
    drain(ctx, clock)
    out = service.stop(ctx, "wb", now=clock(), reason="campaign cancelled")
    assert out["ended"] == 1
    e = enrolment(ctx, "wb", b)
    assert (e["status"], e["exit_reason"]) == ("stopped", "journey stopped: campaign cancelled")
    # restarting a stopped journey does not enter the people who triggered it meanwhile
    record_activity(ctx, b, "meeting", actor="x", now=clock())
    lead(ctx, "r@v.example", clock(), activity="webinar")  # the trigger, while stopped
    assert service.resume(ctx, "wb", now=clock())["status"] == "active"
    drain(ctx, clock)
    assert service.status(ctx, "wb")["enrolments"] == {"completed": 1, "stopped": 1}
    with pytest.raises(MarketopsError):
        service.stop(ctx, "nope", now=clock())


def test_bad_journey_file_names_file_and_line(workspace_dir) -> None:
    bad = {
        "entry": {"segment": "x", "stage": {"to": "SQL"}},
        "steps": [{"id": "s1", "wait": {"event": "demo"}}, {"id": "s2", "send_emial": {}}],
    }
    path = write_journey(workspace_dir, "broken", bad)
    problems = [str(p) for p in validate_workspace(workspace_dir)]
    ours = [p for p in problems if "broken.yml" in p]
    assert any(f"{path}:2" in p and "exactly one of" in p for p in ours), ours
    assert any("timeout" in p for p in ours), ours
    assert any("send_emial" in p and "remove it or check the spelling" in p for p in ours), ours
    from marketops.journeys.loader import load_journey

    with pytest.raises(WorkspaceError):
        load_journey(workspace_dir, "broken")


def test_simulate_replays_history_without_side_effects(ctx) -> None:
    """The replay's counts equal what the worker does over the same history."""
    clock = Clock()
    body = {
        "entry": {"form_fill": True},
        "goals": [{"name": "sql", "stage": "SQL"}],
        "steps": [
            {"id": "w", "wait": {"delay": "1d"}},
            {"id": "tag", "update_field": {"field": "x", "value": 1}},
            {"id": "w2", "wait": {"delay": "5d"}},
            {"id": "tag2", "update_field": {"field": "y", "value": 1}},
        ],
    }
    write_journey(ctx.workspace.root, "sim", body)
    start = clock()
    ids = [lead(ctx, f"s{i}@v.example", clock(), activity="form_fill") for i in range(4)]
    clock.advance(days=2)
    from marketops.lifecycle.service import move_lead

    for stage in ("MQL", "SAL", "SQL"):
        move_lead(ctx, ids[0], stage, actor="z", reason=None, now=clock())
    out = simulate(ctx, "sim", since=start - timedelta(hours=1), until=start + timedelta(days=3))
    assert out["entered"] == 4
    assert out["goals"] == {"sql": 1}  # ids[0] reached SQL during the 5-day wait
    assert out["inside"] == 3 and out["steps"]["tag"] == 4
    assert runs(ctx) == []  # nothing ran, nothing was written
    with pytest.raises(MarketopsError):
        service.status(ctx, "sim")  # simulate does not publish


def test_simulate_list_and_segment_entries(ctx) -> None:
    """A list trigger replays the stored additions; a rule segment is re-evaluated at past
    instants (three pricing-page visits within 30 days, with a good fit)."""
    from marketops.segments.service import add_to_list

    clock = Clock()
    for name, seg in (("from-list", "webinar-2026-attendees"), ("pricing", "hot-pricing-visitors")):
        body = {"entry": {"segment": seg}, "steps": [{"id": "e", "exit": {}}]}
        write_journey(ctx.workspace.root, name, body)
    start = clock()
    a = lead(ctx, "l1@v.example", clock())
    with ctx.engine.begin() as conn:
        add_to_list(conn, "webinar-2026-attendees", [a], clock(), source="t")
    hot = {"title": "CEO", "employees": 5000, "industry": "Software", "country": "US"}
    for _ in range(3):
        clock.advance(days=1)
        lead(ctx, "p1@v.example", clock(), activity="pricing_page", **hot)
    until = clock() + timedelta(hours=1)
    assert simulate(ctx, "from-list", since=start, until=until)["entered"] == 1
    out = simulate(ctx, "pricing", since=start, until=until)
    assert (out["entered"], out["exited"]) == (1, 1)
