"""Pipeline metrics: the funnel, MQLs per week, lead velocity rate and routing loads, checked
against hand-counted cases on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from web_helpers import move

from marketops.reports import metrics
from marketops.services.leads import capture_one
from marketops.store.schema import lead_events, leads
from marketops.workspace.models import Member, Queue, Routing

NOW = datetime(2026, 11, 18, 12, tzinfo=UTC)  # a Wednesday


def test_funnel_stages_follow_the_main_path_of_the_lifecycle(ctx) -> None:
    assert metrics.funnel_stages(ctx.workspace.lifecycle) == [
        "Known", "MQL", "SAL", "SQL", "Opportunity", "Customer",
    ]  # fmt: skip


def test_funnel_counts_a_lead_for_every_stage_up_to_its_furthest() -> None:
    stages = ["Known", "MQL", "SAL", "SQL"]
    # 10 leads stopped at Known, 6 at MQL, 3 at SAL, 1 at SQL
    steps = metrics.funnel([0] * 10 + [1] * 6 + [2] * 3 + [3], stages)
    assert [s.reached for s in steps] == [20, 10, 4, 1]
    assert steps[0].rate is None and steps[1].rate == 0.5
    assert steps[2].rate == 0.4 and steps[3].rate == 0.25
    assert steps[3].of_top == 0.05
    assert [s.reached for s in metrics.funnel([], stages)] == [0, 0, 0, 0]
    assert metrics.funnel([], stages)[1].rate is None


def test_weeks_start_on_monday_utc_and_empty_weeks_are_zero() -> None:
    times = [
        datetime(2026, 11, 16, 0, 0, tzinfo=UTC),  # Monday 00:00: this week
        datetime(2026, 11, 15, 23, 59, tzinfo=UTC),  # Sunday: last week
        datetime(2026, 11, 2, 9, tzinfo=UTC),
        datetime(2026, 11, 19, tzinfo=UTC),  # after `now`: not counted
    ]
    weeks = metrics.weekly_counts(times, NOW, weeks=4)
    assert weeks == [
        (date(2026, 10, 26), 0),
        (date(2026, 11, 2), 1),
        (date(2026, 11, 9), 1),
        (date(2026, 11, 16), 1),
    ]


def test_lead_velocity_rate_matches_the_saastr_definition() -> None:
    # Lemkin's example: 100 qualified leads last month, 110 this month -> LVR 10%
    oct_ = [datetime(2026, 10, 5, tzinfo=UTC)] * 110
    sep = [datetime(2026, 9, 20, tzinfo=UTC)] * 100
    nov = [datetime(2026, 11, 3, tzinfo=UTC)] * 7  # the month in progress is not compared
    v = metrics.lead_velocity(oct_ + sep + nov, NOW)
    assert (v.month, v.mqls, v.previous_month, v.previous_mqls) == (
        date(2026, 10, 1), 110, date(2026, 9, 1), 100,
    )  # fmt: skip
    assert abs(v.rate_pct - 10.0) < 1e-9
    assert metrics.lead_velocity(oct_, NOW).rate_pct is None  # nothing to grow from
    # January looks back across the year boundary
    jan = metrics.lead_velocity(
        [datetime(2025, 11, 30, tzinfo=UTC)] * 4, datetime(2026, 1, 5, tzinfo=UTC)
    )
    assert jan.month == date(2025, 12, 1) and jan.previous_month == date(2025, 11, 1)
    assert jan.rate_pct == -100.0


def _mql(ctx, email: str, at: datetime) -> str:
    status, body = capture_one(
        ctx, {"email": email, "title": "VP Marketing", "activity": "demo_request"}, at
    )
    assert status == 201 and body["lifecycle_stage"] == "MQL", body
    return body["id"]


def test_overview_from_the_store(ctx) -> None:
    sep, oct_ = datetime(2026, 9, 10, tzinfo=UTC), datetime(2026, 10, 12, tzinfo=UTC)
    ids = [_mql(ctx, f"vp{i}@initech.example", sep) for i in range(2)]
    ids += [_mql(ctx, f"vp{i}@globex.example", oct_) for i in range(3)]
    this_week = NOW - timedelta(days=1)
    ids.append(_mql(ctx, "vp@hooli.example", this_week))
    for i in range(4):
        status, body = capture_one(
            ctx, {"email": f"k{i}@acme.example", "activity": "form_fill"}, NOW
        )
        assert status == 201 and body["lifecycle_stage"] == "Known"
    move(ctx, ids[0], "MQL", "SAL", oct_)
    move(ctx, ids[1], "MQL", "SQL", oct_)  # skipped SAL: still counts as having reached it
    # recycled in October, qualified again this month: one MQL (October), not two
    move(ctx, ids[2], "MQL", "Nurture", oct_ + timedelta(days=1))
    move(ctx, ids[2], "Nurture", "MQL", this_week)
    ov = metrics.pipeline_overview(ctx, NOW, weeks=4)
    assert ov.total_leads == 10
    assert [(s.stage, s.reached) for s in ov.funnel][:4] == [
        ("Known", 10), ("MQL", 6), ("SAL", 2), ("SQL", 1),
    ]  # fmt: skip
    assert ov.funnel[1].rate == 0.6 and ov.funnel[2].rate == 2 / 6
    assert ov.mqls_per_week[-1] == (date(2026, 11, 16), 1)
    assert (ov.velocity.mqls, ov.velocity.previous_mqls, ov.velocity.rate_pct) == (3, 2, 50.0)
    assert dict(ov.mqls_per_month)[date(2026, 11, 1)] == 1
    # the store's GROUP BY agrees with the pure definition over the raw rows
    with ctx.engine.connect() as conn:
        current = dict(conn.execute(select(leads.c.id, leads.c.lifecycle_stage)).all())
        moves = [
            (r.lead_id, r.data["to"], r.at)
            for r in conn.execute(select(lead_events).where(lead_events.c.kind == "stage"))
        ]
    pure = metrics.overview_from(current, moves, ctx.workspace.lifecycle, NOW, weeks=4)
    assert (pure.funnel, pure.mqls_per_week, pure.velocity) == (
        ov.funnel,
        ov.mqls_per_week,
        ov.velocity,
    )


def test_queue_loads_compare_members_with_their_weights() -> None:
    routing = Routing(
        queues=[
            Queue(name="sdr", members=[Member(name="a", weight=2), Member(name="b", weight=1)])
        ],
        rules=[],
    )
    loads = metrics.queue_loads(
        [("sdr", "a", 6), ("sdr", "b", 3), ("sdr", "gone", 1), ("sdr", None, 2), ("old", "x", 1)],
        routing,
    )
    sdr = loads[0]
    assert sdr.queue == "sdr" and sdr.leads == 12
    assert [(m.member, m.leads, m.share, m.target_share) for m in sdr.members] == [
        ("a", 6, 0.6, 2 / 3), ("b", 3, 0.3, 1 / 3),
    ]  # fmt: skip
    assert sdr.other_owners == {"gone": 1, "(unassigned)": 2}
    assert loads[1].queue == "old" and loads[1].members == []


def test_assignments_read_current_owners(ctx) -> None:
    for i in range(3):
        capture_one(
            ctx,
            {
                "email": f"buyer{i}@initech.example",
                "title": "VP Marketing",
                "activity": "demo_request",
                "message": "pricing please",
            },
            NOW,
        )
    loads = {q.queue: q for q in metrics.assignments(ctx)}
    sdr = loads["inbound-sdr"]
    assert sdr.leads == 3
    # weights 2:1 -> smooth weighted round-robin gives a, b, a
    assert {m.member: m.leads for m in sdr.members} == {"ava.sdr": 2, "ben.sdr": 1}
