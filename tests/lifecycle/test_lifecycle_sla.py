"""SLA clocks on the owner team's business-hours calendar: due times, firing once, sales touches
that stop the clock, catching up after downtime, escalation, automatic return to nurture,
reassignment on breach. Reference due times are the calendars doc's worked example."""

from datetime import UTC, datetime, timedelta

from lifecycle_helpers import (
    FRIDAY_1630_NY,
    capture,
    edit_yaml,
    hot_lead,
    open_ctx,
    outbox_rows,
    timers,
)

from marketops.lifecycle.service import history, move_lead, record_activity
from marketops.lifecycle.sla import plan_timers
from marketops.lifecycle.timers import sla_tick
from marketops.routing.service import why
from marketops.workspace.models import Lifecycle

T0 = FRIDAY_1630_NY
# +2 business hours on us-east-business: Monday 2026-03-09 10:30 EDT (after spring-forward)
DUE_2H = datetime(2026, 3, 9, 14, 30, tzinfo=UTC)
# +48 business hours (6 days of 8 h): Monday 2026-03-16 16:30 EDT
DUE_48H = datetime(2026, 3, 16, 20, 30, tzinfo=UTC)


def test_first_contact_clock_fires_once_on_business_hours(ctx) -> None:
    lead = capture(ctx, hot_lead("clock@acme.example"), T0)
    assert lead["assignment"]["owner"] == "ava.sdr"
    ts = timers(ctx, lead["id"])
    assert [(t["sla"], t["action"], t["calendar"], t["due_at"]) for t in ts] == [
        ("mql-first-contact", "notify", "us-east-business", DUE_2H),
        ("mql-first-contact", "escalate", "us-east-business", DUE_48H),
    ]
    assert sla_tick(ctx, DUE_2H - timedelta(seconds=1)) == 0
    assert sla_tick(ctx, DUE_2H) == 1
    assert sla_tick(ctx, DUE_2H + timedelta(minutes=5)) == 0
    sent = outbox_rows(ctx)
    assert len(sent) == 1
    assert (sent[0]["channel"], sent[0]["destination"]) == ("email", "owner:ava.sdr")
    assert sent[0]["idempotency_key"] == f"sla-timer:{ts[0]['id']}"
    assert sent[0]["payload"]["lead_id"] == lead["id"] and "@" not in str(sent[0]["payload"])
    assert [t["status"] for t in timers(ctx, lead["id"])] == ["fired", "pending"]


def test_sales_touch_stops_the_clock(ctx) -> None:
    lead = capture(ctx, hot_lead("touched@acme.example"), T0)
    out = record_activity(ctx, lead["id"], "call", actor="ava.sdr", now=T0 + timedelta(minutes=20))
    assert out["stopped"] == ["mql-first-contact"]
    assert sla_tick(ctx, T0 + timedelta(days=60)) == 0
    assert {t["status"] for t in timers(ctx, lead["id"])} == {"stopped"}
    assert outbox_rows(ctx) == []
    # a touch before the clock started does not count; an unknown touch type is refused
    again = record_activity(
        ctx, lead["id"], "meeting", actor="ava.sdr", now=T0 + timedelta(hours=1)
    )
    assert again["stopped"] == []


def test_catch_up_after_downtime_escalates_to_manager(ctx) -> None:
    lead = capture(ctx, hot_lead("late@acme.example"), T0)
    assert sla_tick(ctx, T0 + timedelta(days=30)) == 2  # both overdue timers, in one tick
    sent = outbox_rows(ctx)
    assert [s["destination"] for s in sent] == ["owner:ava.sdr", "owner:maria.lead"]
    assert sent[1]["payload"]["event"] == "sla.escalation"
    assert sla_tick(ctx, T0 + timedelta(days=31)) == 0
    assert len(outbox_rows(ctx)) == 2
    h = history(ctx, lead["id"], T0 + timedelta(days=31))
    assert [t["status"] for t in h["sla_timers"]] == ["fired", "fired"]


def test_leaving_the_stage_cancels_the_clock(ctx) -> None:
    lead = capture(ctx, hot_lead("accepted@acme.example"), T0)
    move_lead(ctx, lead["id"], "SAL", actor="ava.sdr", reason=None, now=T0 + timedelta(minutes=5))
    assert {t["status"] for t in timers(ctx, lead["id"])} == {"cancelled"}
    assert sla_tick(ctx, T0 + timedelta(days=30)) == 0


def test_disqualified_by_sales_returns_to_nurture(ctx) -> None:
    lead = capture(ctx, hot_lead("dq@acme.example"), T0)
    t1 = T0 + timedelta(hours=1)
    move_lead(ctx, lead["id"], "Disqualified", actor="ava.sdr", reason="student", now=t1)
    dq = [t for t in timers(ctx, lead["id"]) if t["status"] == "pending"]
    assert [(t["sla"], t["calendar"], t["due_at"]) for t in dq] == [
        ("disqualified-returns-to-nurture", "24x7", t1 + timedelta(days=30))
    ]
    assert sla_tick(ctx, t1 + timedelta(days=29)) == 0
    assert sla_tick(ctx, t1 + timedelta(days=45)) == 1
    h = history(ctx, lead["id"], t1 + timedelta(days=45))
    last = h["transitions"][-1]
    assert (h["stage"], last["from"], last["actor"], last["backward"]) == (
        "Nurture",
        "Disqualified",
        "sla:disqualified-returns-to-nurture",
        True,
    )


def test_rule_driven_disqualification_starts_no_return_clock(workspace_dir) -> None:
    from marketops.workspace import Workspace

    ws = Workspace.load(workspace_dir)
    rows = plan_timers(
        ws.lifecycle,
        ws.routing,
        {},
        lead_id="x",
        stage="Disqualified",
        prev_stage="MQL",
        owner=None,
        prev_owner=None,
        queue=None,
        actor_kind="rule",
        now=T0,
    )
    assert rows == []
    rows = plan_timers(
        ws.lifecycle,
        ws.routing,
        {},
        lead_id="x",
        stage="Disqualified",
        prev_stage="MQL",
        owner=None,
        prev_owner=None,
        queue=None,
        actor_kind="person",
        now=T0,
    )
    assert [r["due_at"] for r in rows] == [None]  # calendar not at hand: the tick computes it


def test_reassign_on_breach(workspace_dir, backend_url, monkeypatch) -> None:
    def sla(data):
        data["slas"][0]["timers"] = [
            {"after": "4h", "action": "reassign", "reason": "no first contact in 4 business hours"}
        ]

    edit_yaml(workspace_dir / "lifecycle.yml", sla)
    ctx = open_ctx(workspace_dir, backend_url, monkeypatch)
    try:
        lead = capture(ctx, hot_lead("slow@acme.example"), T0)
        assert lead["assignment"]["owner"] == "ava.sdr"
        due = timers(ctx, lead["id"])[0]["due_at"]
        assert due == datetime(2026, 3, 9, 16, 30, tzinfo=UTC)  # Monday 12:30 EDT
        assert sla_tick(ctx, due) == 1
        w = why(ctx, lead["id"])
        assert w["owner"] == "ben.sdr"
        last = w["decisions"][-1]
        assert last["actor"] == "sla:mql-first-contact" and last["previous_owner"] == "ava.sdr"
        assert last["reasons"][0] == "no first contact in 4 business hours"
        assert last["reasons"][1] == "ben.sdr: round-robin slot 1 of queue inbound-sdr"
        # the new owner gets a fresh clock; the old one is closed
        statuses = [(t["owner"], t["status"]) for t in timers(ctx, lead["id"])]
        assert statuses == [("ava.sdr", "fired"), ("ben.sdr", "pending")]
    finally:
        ctx.close()


def test_lifecycle_model_parses_durations() -> None:
    lc = Lifecycle(
        stages=["Known", "MQL", "Nurture"],
        slas=[
            {
                "name": "s",
                "stage": "MQL",
                "timers": [
                    {"after": "1h30m", "action": "notify", "to": "owner"},
                    {"after": "PT2H", "action": "escalate"},
                ],
            }
        ],
    )
    assert [t.after for t in lc.slas[0].timers] == [timedelta(minutes=90), timedelta(hours=2)]
