"""Coverage: share of opportunities, pipeline and revenue tied to a campaign + channel touch."""

from __future__ import annotations

from decimal import Decimal

from attribution_helpers import backend, conversion, run, touch


def test_reasons_and_shares():
    touches = [
        touch("tagged", 1, "ads", campaign="spring"),
        touch("untagged", 1, "ads"),  # no campaign
        touch("late", 20, "ads", campaign="spring"),  # after its conversion
    ]
    convs = [
        conversion("o1", "tagged", 2, kind="opportunity", amount="1000.00"),
        conversion("o2", "untagged", 2, kind="opportunity", amount="500.00"),
        conversion("o3", "late", 2, kind="opportunity", amount="250.00"),
        conversion("o4", None, 2, kind="opportunity", amount="250.00"),
        conversion("w1", "tagged", 3, kind="closed_won", amount="800.00"),
        conversion("w2", None, 3, kind="closed_won", amount="200.00"),
        conversion("l1", "tagged", 1.5, kind="lead_created", amount=None),  # not a coverage metric
    ]
    con = backend(touches, convs)
    cov = run(con, models=["linear"]).coverage
    lines = {ln.metric: ln for ln in cov.lines}
    assert (lines["opportunities"].total, lines["opportunities"].attributed) == (4, 1)
    assert lines["opportunities"].share == 0.25
    assert lines["pipeline"].total == Decimal("2000.00")
    assert lines["pipeline"].attributed == Decimal("1000.00")
    assert lines["revenue"].share == 0.8
    reasons = {(u.metric, u.reason): (u.count, u.amount) for u in cov.unattributed}
    assert reasons == {
        ("opportunities", "untagged touch"): (1, Decimal("500.00")),
        ("opportunities", "no touch"): (1, Decimal("250.00")),
        ("opportunities", "unknown identity"): (1, Decimal("250.00")),
        ("revenue", "unknown identity"): (1, Decimal("200.00")),
    }
    con.disconnect()


def test_won_flag_on_opportunity_counts_as_revenue():
    con = backend(
        [touch("a", 1, "ads", campaign="c")],
        [{**conversion("o", "a", 2, kind="opportunity", amount="10.00"), "won": "true"}],
    )
    lines = {ln.metric: ln for ln in run(con, models=["linear"]).coverage.lines}
    assert lines["revenue"].total == Decimal("10.00") and lines["revenue"].share == 1.0
    con.disconnect()


def test_empty_scope_has_no_share():
    con = backend([touch("a", 1, "ads")], [conversion("c", "a", 2, kind="signup")])
    lines = {ln.metric: ln for ln in run(con, models=["linear"]).coverage.lines}
    assert lines["revenue"].total == 0 and lines["revenue"].share is None
    con.disconnect()
