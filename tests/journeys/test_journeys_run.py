"""Journeys run end to end on SQLite and PostgreSQL with time driven by a clock: API-event entry,
waits (delay, window in the contact's zone, event with timeout), branches, actions through the
outbox, field updates, stage moves and exit goals."""

from __future__ import annotations

from datetime import timedelta

from journeys_helpers import Clock, enrolment, lead, outbox_rows, runs, write_journey

from marketops.journeys import service
from marketops.journeys.runner import drain
from marketops.journeys.versions import publish
from marketops.lifecycle.service import move_lead

ONBOARD = {
    "description": "signup onboarding",
    "entry": {"event": "signup"},
    "goals": [{"name": "became-sql", "stage": "SQL"}],
    "steps": [
        {"id": "tag", "update_field": {"field": "onboarding", "value": "started"}},
        {"id": "hook", "webhook": {"url": "https://hooks.example/onboard", "payload": {"n": 1}}},
        {"id": "pause", "wait": {"delay": "2d"}},
        {
            "id": "morning",
            "wait": {
                "until_window": {
                    "start": "09:00",
                    "end": "11:00",
                    "days": ["mon", "tue", "wed", "thu", "fri"],
                }
            },
        },
        {
            "id": "demo",
            "wait": {"event": "demo_booked", "timeout": "3d"},
            "on_event": "thanks",
            "on_timeout": "check",
        },
        {
            "id": "check",
            "branch": [
                {"when": {"all": [{"field": "country", "equals": "DE"}]}, "goto": "de"},
                {"goto": "other"},
            ],
        },
        {"id": "de", "update_field": {"field": "route", "value": "de"}, "next": "done"},
        {"id": "other", "update_field": {"field": "route", "value": "other"}, "next": "done"},
        {"id": "thanks", "update_field": {"field": "route", "value": "booked"}},
        {"id": "done", "exit": {"reason": "onboarding over"}},
    ],
}


def _setup(ctx, clock):
    write_journey(ctx.workspace.root, "onboard", ONBOARD)
    out = publish(ctx, "onboard", now=clock())
    assert out == {"journey": "onboard", "version": 1, "published": True, "migrated": 0}
    return out


def test_waits_branches_and_actions(ctx) -> None:
    clock = Clock()
    _setup(ctx, clock)
    de = lead(ctx, "ana@acme.example", clock(), country="DE", time_zone="Europe/Berlin")
    us = lead(ctx, "bob@acme.example", clock(), country="US", time_zone="America/New_York")
    booked = lead(ctx, "cy@acme.example", clock(), country="US")
    for lid in (de, us, booked):
        service.post_event(ctx, "onboard", lead_id=lid, event="signup", now=clock(), key=f"s-{lid}")
    drain(ctx, clock)
    # entered; first two steps done at once; now in the 2-day wait
    for lid in (de, us, booked):
        e = enrolment(ctx, "onboard", lid)
        assert (e["status"], e["step"], e["due_at"]) == (
            "active",
            "pause",
            clock() + timedelta(days=2),
        )
    hooks = [o for o in outbox_rows(ctx) if o["channel"] == "webhook"]
    assert len(hooks) == 3 and {h["payload"]["lead_id"] for h in hooks} == {de, us, booked}
    # nothing happens a second before the delay ends
    clock.advance(days=2, seconds=-1)
    drain(ctx, clock)
    assert enrolment(ctx, "onboard", de)["step"] == "pause"
    # Wednesday 15:00 UTC: the 09:00-11:00 window is open in New York (10:00) but not in Berlin
    clock.advance(seconds=1)
    drain(ctx, clock)
    assert enrolment(ctx, "onboard", us)["step"] == "demo"
    e = enrolment(ctx, "onboard", de)
    assert e["step"] == "morning"
    # Berlin opens Thursday 09:00 CET = 08:00 UTC
    assert e["due_at"].isoformat() == "2026-03-05T08:00:00+00:00"
    # `booked` has no zone: the journey's default (UTC) window opens Thursday 09:00 UTC
    assert enrolment(ctx, "onboard", booked)["due_at"].isoformat() == "2026-03-05T09:00:00+00:00"
    # the demo event for `us` ends its wait at once (woken by the event, not at the timeout)
    clock.advance(hours=1)
    service.post_event(ctx, "onboard", lead_id=us, event="demo_booked", now=clock(), key="d1")
    drain(ctx, clock)
    e = enrolment(ctx, "onboard", us)
    assert (e["status"], e["exit_reason"]) == ("exited", "onboarding over")
    clock.now = clock.now.replace(day=5, hour=9)
    drain(ctx, clock)
    assert enrolment(ctx, "onboard", de)["step"] == "demo"
    clock.advance(days=4)
    drain(ctx, clock)
    by_lead = {}
    for r in runs(ctx, "onboard"):
        by_lead.setdefault(r["enrolment_id"], []).append((r["step"], r["outcome"]))
    paths = {enrolment(ctx, "onboard", lid)["id"]: lid for lid in (de, us, booked)}
    got = {paths[k]: v for k, v in by_lead.items()}
    common = [("tag", "done"), ("hook", "done"), ("pause", "waited"), ("morning", "waited")]
    assert got[us] == [*common, ("demo", "event"), ("thanks", "done"), ("done", "exit")]
    assert got[de] == [
        *common,
        ("demo", "timeout"),
        ("check", "branch"),
        ("de", "done"),
        ("done", "exit"),
    ]
    assert got[booked] == [
        *common,
        ("demo", "timeout"),
        ("check", "branch"),
        ("other", "done"),
        ("done", "exit"),
    ]
    st = service.status(ctx, "onboard")
    assert st["enrolments"] == {"exited": 3}


def test_goal_exits_at_once_and_reentry_policy(ctx) -> None:
    clock = Clock()
    _setup(ctx, clock)
    lid = lead(ctx, "goal@acme.example", clock())
    service.post_event(ctx, "onboard", lead_id=lid, event="signup", now=clock(), key="a")
    drain(ctx, clock)
    assert enrolment(ctx, "onboard", lid)["step"] == "pause"
    clock.advance(hours=1)
    for stage in ("MQL", "SAL", "SQL"):
        move_lead(ctx, lid, stage, actor="carla", reason=None, now=clock())
    drain(ctx, clock)  # the stage move wakes the enrolment: out now, not in two days
    e = enrolment(ctx, "onboard", lid)
    assert (e["status"], e["goal"], e["exited_at"]) == ("goal", "became-sql", clock())
    # re-entry `never` (the default): a second signup does not enter again
    service.post_event(ctx, "onboard", lead_id=lid, event="signup", now=clock(), key="b")
    drain(ctx, clock)
    assert service.status(ctx, "onboard")["enrolments"] == {"goal": 1}


def test_a_failing_step_sets_one_person_aside_and_retry_replays_it(ctx, monkeypatch) -> None:
    monkeypatch.setenv("MARKETOPS_SECRET_KEY", "journey-test-key-0123456789abcdef")
    clock = Clock()
    body = {
        "entry": {"event": "go"},
        "steps": [
            {
                "id": "pick",
                "branch": [
                    {"when": {"all": [{"field": "country", "equals": "DE"}]}, "goto": "bad"},
                    {"goto": "ok"},
                ],
            },
            {"id": "bad", "send_email": {"template": "removed-later"}, "next": "ok"},
            {"id": "ok", "webhook": {"url": "https://hooks.example/ok"}},
        ],
    }
    emails = ctx.workspace.root / "emails"
    (emails / "removed-later.yml").write_text((emails / "welcome.yml").read_text())
    write_journey(ctx.workspace.root, "mixed", body)
    publish(ctx, "mixed", now=clock())  # publish checks the template exists …
    (emails / "removed-later.yml").unlink()  # … and it is deleted before the step runs
    de = lead(ctx, "de@f.example", clock(), country="DE", consent_email=True)
    us = lead(ctx, "us@f.example", clock(), country="US")
    for lid in (de, us):
        service.post_event(ctx, "mixed", lead_id=lid, event="go", now=clock(), key=lid)
    drain(ctx, clock)
    e = enrolment(ctx, "mixed", de)
    assert (e["status"], e["step"]) == ("failed", "pick")
    assert "removed-later" in e["exit_reason"]
    assert enrolment(ctx, "mixed", us)["status"] == "completed"
    assert [r["step"] for r in runs(ctx, "mixed") if r["enrolment_id"] == e["id"]] == []
    # the template is back: retry runs the person from the failed step, once
    (emails / "removed-later.yml").write_text((emails / "welcome.yml").read_text())
    assert service.retry_failed(ctx, "mixed", now=clock()) == 1
    drain(ctx, clock)
    assert enrolment(ctx, "mixed", de)["status"] == "completed"
    steps = [r["step"] for r in runs(ctx, "mixed") if r["enrolment_id"] == e["id"]]
    assert steps == ["pick", "bad", "ok"]
