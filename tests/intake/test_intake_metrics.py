"""MOPS metrics against the hand-computed histories in intake_cases (a DST week included)."""

from __future__ import annotations

import datetime as dt

import pytest
from intake_cases import A_MOVES, B_MOVES, C_MOVES, CALENDARS, CATALOG, NOW, utc

from marketops.ops.intake.metrics import (
    Period,
    RequestRecord,
    backlog_aging,
    mops_metrics,
    request_sla,
    self_serve_share,
    template_reuse_rate,
)

H = dt.timedelta(hours=1)


def record(rid: int, moves, class_="simple", **kw) -> RequestRecord:
    return RequestRecord(
        id=rid,
        type=kw.pop("type", "add-field"),
        class_=class_,
        state=moves[-1][2],
        created_at=moves[0][0],
        moves=tuple(moves),
        **kw,
    )


A = record(1, A_MOVES)
B = record(2, B_MOVES)
C = record(
    3,
    C_MOVES,
    "complex",
    type="launch-campaign",
    is_launch=True,
    live_at=utc(2026, 11, 3, 15, 30),
    template="newsletter",
    templates_offered=True,
)


def goals(class_: str):
    return CATALOG.goals(class_, CALENDARS)


def test_request_a_with_pause_across_dst() -> None:
    triage, done = request_sla(A, goals("simple"), NOW)
    assert triage.current.elapsed == 1.5 * H and triage.current.met
    assert done.current.elapsed == 15 * H and done.current.met
    assert done.current.stopped_at == utc(2026, 11, 4, 17)
    assert not done.current.breached and done.current.breach_at is None


def test_request_b_breaches_at_hand_computed_instants() -> None:
    triage, done = request_sla(B, goals("simple"), NOW)
    assert triage.current.breach_at == utc(2026, 11, 2, 18)  # Mon 13:00 EST
    assert done.current.breach_at == utc(2026, 11, 3, 22)  # Tue 17:00 EST
    assert done.current.elapsed == 27 * H and done.current.remaining == -11 * H
    assert triage.current.state == "running" and triage.current.breached


def test_time_to_campaign_calendar_and_business() -> None:
    period = Period(since=utc(2026, 10, 1), until=utc(2026, 12, 1), now=NOW)
    m = mops_metrics(
        [A, B, C],
        period=period,
        calendar_for=lambda c: CALENDARS["ny"],
        goals_for=goals,
    )
    ttc = m.time_to_campaign
    assert ttc["all"]["calendar"] == {"count": 1, "median_hours": 91.5, "mean_hours": 91.5}
    assert ttc["complex"]["business"]["median_hours"] == 10.5
    simple = m.sla_adherence["simple"]
    assert simple["time to triage"] == {"met": 1, "breached": 1, "pending": 0, "adherence": 0.5}
    assert simple["time to done"]["adherence"] == 0.5
    assert simple["all goals"] == {"met": 2, "breached": 2, "pending": 0, "adherence": 0.5}
    # C's time to live: Fri 1h + Mon 8h + Tue 1.5h = 10.5h of 80h, met
    assert m.sla_adherence["complex"]["time to live"]["met"] == 1
    assert m.template_reuse == {"eligible": 1, "used_template": 1, "rate": 1.0}


def test_period_excludes_outside_requests() -> None:
    period = Period(since=utc(2026, 11, 1), until=utc(2026, 12, 1), now=NOW)
    m = mops_metrics(
        [A, B, C], period=period, calendar_for=lambda c: CALENDARS["ny"], goals_for=goals
    )
    # A and C were created on Oct 30: only B counts for adherence; C went live in the period
    assert m.sla_adherence["simple"]["all goals"]["breached"] == 2
    assert m.sla_adherence["simple"]["all goals"]["met"] == 0
    assert "complex" not in m.sla_adherence
    assert m.time_to_campaign["all"]["calendar"]["count"] == 1


def test_backlog_aging_counts_open_items_older_than_14_days() -> None:
    now = utc(2026, 11, 20)
    recs = [
        record(1, [(utc(2026, 11, 1), None, "new")]),  # 19 days: aged
        record(2, [(utc(2026, 11, 10), None, "new")]),  # 10 days
        record(3, [(utc(2026, 11, 5, 23), None, "triaged")], "complex"),  # 14d 1h: aged
        record(4, [(utc(2026, 11, 6, 1), None, "qa")], "complex"),  # 13d 23h
        record(5, [(utc(2026, 10, 1), None, "done")]),  # closed: not backlog
        record(6, [(utc(2026, 10, 1), None, "cancelled")]),
    ]
    aging = backlog_aging(recs, now, 14)
    assert aging["all"] == {"open": 4, "older_than_14d": 2, "share_aged": 0.5}
    assert aging["simple"]["share_aged"] == 0.5 and aging["complex"]["older_than_14d"] == 1
    assert backlog_aging(recs, now, 7)["all"]["older_than_7d"] == 4


def test_template_reuse_and_self_serve_share() -> None:
    since, until = utc(2026, 11, 1), utc(2026, 12, 1)
    recs = [
        record(1, [(utc(2026, 11, 2), None, "new")], templates_offered=True, template="t"),
        record(2, [(utc(2026, 11, 2), None, "new")], templates_offered=True),
        record(3, [(utc(2026, 11, 2), None, "new")], templates_offered=True, template="t"),
        record(4, [(utc(2026, 11, 2), None, "new")], self_serve=True),
        record(5, [(utc(2026, 10, 2), None, "new")], self_serve=True, templates_offered=True),
    ]
    assert template_reuse_rate(recs, since, until) == {
        "eligible": 3,
        "used_template": 2,
        "rate": pytest.approx(0.6667),
    }
    assert self_serve_share(recs, since, until) == {"requests": 4, "self_serve": 1, "share": 0.25}
    assert self_serve_share([], since, until)["share"] is None
