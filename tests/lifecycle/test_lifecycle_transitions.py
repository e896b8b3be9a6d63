"""The state machine on a real store: allowed moves, refused moves, backward moves with a reason,
every move an event with actor and reason, time in stage."""

from datetime import timedelta

import pytest
from lifecycle_helpers import FRIDAY_1630_NY, capture, hot_lead

from marketops.errors import MarketopsError, NotFound
from marketops.lifecycle.service import history, move_lead
from marketops.lifecycle.transitions import check_move
from marketops.workspace.models import Lifecycle

T0 = FRIDAY_1630_NY


def test_moves_history_and_time_in_stage(ctx) -> None:
    lead = capture(ctx, hot_lead("mover@acme.example"), T0)
    assert lead["lifecycle_stage"] == "MQL"
    out = move_lead(
        ctx, lead["id"], "SAL", actor="ava.sdr", reason="accepted", now=T0 + timedelta(hours=1)
    )
    assert (out["from"], out["to"], out["backward"]) == ("MQL", "SAL", False)

    with pytest.raises(MarketopsError) as refused:
        move_lead(
            ctx, lead["id"], "Customer", actor="ava.sdr", reason=None, now=T0 + timedelta(hours=2)
        )
    text = str(refused.value)
    assert "SAL to Customer is not allowed" in text and "Disqualified, Nurture, SQL" in text

    with pytest.raises(MarketopsError, match="needs a reason"):
        move_lead(
            ctx, lead["id"], "Nurture", actor="ava.sdr", reason=" ", now=T0 + timedelta(hours=3)
        )
    back = move_lead(
        ctx,
        lead["id"],
        "Nurture",
        actor="ava.sdr",
        reason="no budget until Q3",
        now=T0 + timedelta(hours=4),
    )
    assert back["backward"] is True

    h = history(ctx, lead["id"], T0 + timedelta(hours=10))
    assert h["stage"] == "Nurture"
    assert [(t["from"], t["to"], t["actor"]) for t in h["transitions"]] == [
        (None, "MQL", "pipeline"),
        ("MQL", "SAL", "ava.sdr"),
        ("SAL", "Nurture", "ava.sdr"),
    ]
    assert h["transitions"][2]["reason"] == "no budget until Q3"
    assert h["transitions"][2]["backward"] is True
    secs = {k: v["seconds"] for k, v in h["time_in_stage"].items()}
    assert secs == {"MQL": 3600.0, "SAL": 3 * 3600.0, "Nurture": 6 * 3600.0}
    assert h["in_stage_since"] == T0 + timedelta(hours=4)


def test_unknown_lead_and_stage(ctx) -> None:
    with pytest.raises(NotFound):
        move_lead(ctx, "nope", "SAL", actor="x", reason=None, now=T0)
    lead = capture(ctx, hot_lead("stage@acme.example"), T0)
    with pytest.raises(MarketopsError, match="unknown stage"):
        move_lead(ctx, lead["id"], "Won", actor="x", reason=None, now=T0)


def test_backward_is_recycle_or_earlier_in_funnel() -> None:
    lc = Lifecycle(
        stages=["Known", "MQL", "SAL", "SQL", "Nurture", "Disqualified"],
        transitions=[
            {"from": "SQL", "to": ["SAL", "Nurture"]},
            {"from": "MQL", "to": ["SAL"]},
            {"from": "Disqualified", "to": ["Nurture"]},
        ],
    )
    assert check_move(lc, "MQL", "SAL", None) is False
    assert check_move(lc, "SQL", "SAL", "wrong stage") is True  # earlier in the funnel
    assert check_move(lc, "Disqualified", "Nurture", "recycle") is True
    with pytest.raises(MarketopsError, match="needs a reason"):
        check_move(lc, "SQL", "SAL", None)
    with pytest.raises(MarketopsError, match="already in"):
        check_move(lc, "SQL", "SQL", None)


def test_workspace_refuses_unknown_sla_stage() -> None:
    with pytest.raises(ValueError, match=r"unknown stage\(s\) \['SAL'\]"):
        Lifecycle(
            stages=["Known", "MQL", "Nurture"],
            slas=[
                {
                    "name": "x",
                    "stage": "SAL",
                    "timers": [{"after": "2h", "action": "notify", "to": "owner"}],
                }
            ],
        )
    with pytest.raises(ValueError, match="needs `to`"):
        Lifecycle(
            stages=["Known", "MQL", "Nurture"],
            slas=[{"name": "x", "stage": "MQL", "timers": [{"after": "2h", "action": "move"}]}],
        )
