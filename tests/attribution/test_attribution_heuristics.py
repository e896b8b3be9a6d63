"""Every rule-based model against weights computed by hand from the model's definition."""

from __future__ import annotations

from decimal import Decimal

import pytest
from attribution_helpers import backend, conversion, credit, run, touch

HEUR = [
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "position_based",
    "time_decay",
    "w_shaped",
    "full_path",
]


@pytest.fixture(scope="module")
def five_touch():
    """ads, display, email, social, direct; lead created after email, opportunity after social."""
    touches = [
        touch("p1", 1, "ads"),
        touch("p1", 1.5, "display"),
        touch("p1", 2, "email"),
        touch("p1", 3, "social"),
        touch("p1", 4, "direct"),
    ]
    convs = [
        conversion("won1", "p1", 5, amount="200.00"),
        conversion("lead1", "p1", 2.5, kind="lead_created", amount=None),
        conversion("opp1", "p1", 3.5, kind="opportunity", amount="200.00"),
    ]
    con = backend(touches, convs)
    yield run(con, kinds=["closed_won"], models=HEUR)
    con.disconnect()


def test_single_position_models(five_touch):
    assert credit(five_touch, "first_touch") == {"ads": 1.0}
    assert credit(five_touch, "last_touch") == {"direct": 1.0}
    assert credit(five_touch, "last_non_direct") == {"social": 1.0}


def test_linear_and_position_based(five_touch):
    assert credit(five_touch, "linear") == pytest.approx(
        {c: 0.2 for c in ("ads", "display", "email", "social", "direct")}
    )
    # 40% first, 40% last, the 20% shared by the 3 middle touches
    assert credit(five_touch, "position_based") == pytest.approx(
        {"ads": 0.4, "display": 0.2 / 3, "email": 0.2 / 3, "social": 0.2 / 3, "direct": 0.4}
    )


def test_time_decay_half_life(five_touch):
    # touch ages before the last touch (days): 3, 2.5, 2, 1, 0; weight 2^(-age/7)
    ages = {"ads": 3, "display": 2.5, "email": 2, "social": 1, "direct": 0}
    raw = {c: 2 ** (-a / 7) for c, a in ages.items()}
    total = sum(raw.values())
    assert credit(five_touch, "time_decay") == pytest.approx({c: w / total for c, w in raw.items()})


def test_w_shaped_and_full_path(five_touch):
    # W: 30% first (ads), lead touch (email: last before lead at day 2.5), opportunity touch
    # (social: last before day 3.5); 10% shared by the other two.
    assert credit(five_touch, "w_shaped") == pytest.approx(
        {"ads": 0.3, "display": 0.05, "email": 0.3, "social": 0.3, "direct": 0.05}
    )
    # Z: 22.5% to first, lead, opportunity and closing touch; 10% to the only other one.
    assert credit(five_touch, "full_path") == pytest.approx(
        {"ads": 0.225, "display": 0.1, "email": 0.225, "social": 0.225, "direct": 0.225}
    )


def test_revenue_follows_weights(five_touch):
    rev = {c.group: c.revenue for c in five_touch.credits if c.model == "w_shaped"}
    assert rev["ads"] == Decimal("60.00")
    assert rev["display"] == Decimal("10.00")
    assert all(isinstance(v, Decimal) for v in rev.values())


def test_short_paths_and_missing_milestones():
    con = backend(
        [touch("a", 1, "email"), touch("a", 2, "ads"), touch("b", 3, "social")],
        [conversion("ca", "a", 3), conversion("cb", "b", 4)],
    )
    r = run(con, models=HEUR)
    # two touches: 40/20/40 becomes 50/50; one touch: everything to it
    assert credit(r, "position_based") == pytest.approx({"email": 0.5, "ads": 0.5, "social": 1.0})
    # W without lead/opportunity records: first 0.3 and the middle 0.1, renormalised -> 3:1
    assert credit(r, "w_shaped") == pytest.approx({"email": 0.75, "ads": 0.25, "social": 1.0})
    # Z: first and closing touch hold 0.225 each -> 50/50
    assert credit(r, "full_path") == pytest.approx({"email": 0.5, "ads": 0.5, "social": 1.0})
    assert r.conversions_with_touches == 2
    con.disconnect()


def test_last_non_direct_falls_back_to_direct_when_only_direct():
    con = backend([touch("a", 1, "direct"), touch("a", 2, "Direct")], [conversion("c", "a", 3)])
    r = run(con, models=["last_non_direct"])
    assert credit(r, "last_non_direct") == {"Direct": 1.0}
    con.disconnect()


def test_windows_touch_types_and_other_people():
    touches = [
        touch("a", 0, "too_old"),  # 10 days before the conversion, window 7 days
        touch("a", 5, "email", touch_type="email_click"),
        touch("a", 6, "display", touch_type="impression"),  # type not counted
        touch("a", 11, "after"),  # after the conversion
        touch("b", 6, "someone_else"),
    ]
    convs = [conversion("c1", "a", 10), conversion("c_old", "a", 1)]
    con = backend(touches, convs)
    r = run(
        con,
        models=["linear"],
        conversion_window_days=7,
        touch_types=["email_click", "visit"],
        lookback_days=150,
    )
    # NOW is 2024-06-01: lookback 150 days keeps c1 (Jan 11), drops c_old (Jan 2)
    assert credit(r, "linear") == {"email": 1.0}
    assert r.conversions_in_scope == 1
    con.disconnect()


def test_grouping_levels_and_missing_tags():
    touches = [
        touch("a", 1, "ads", source="google", medium="cpc", campaign="spring", content="v1"),
        touch("a", 2, "email", source="newsletter", medium=None, campaign=None),
    ]
    con = backend(touches, [conversion("c", "a", 3)])
    assert credit(run(con, models=["linear"], by="source_medium"), "linear") == {
        "google / cpc": 0.5,
        "newsletter / (none)": 0.5,
    }
    assert credit(run(con, models=["linear"], by="campaign"), "linear") == {
        "spring": 0.5,
        "(none)": 0.5,
    }
    assert credit(run(con, models=["first_touch"], by="content"), "first_touch") == {"v1": 1.0}
    con.disconnect()


def test_simultaneous_touches_break_ties_by_tags():
    con = backend([touch("a", 1, "zeta"), touch("a", 1, "alpha")], [conversion("c", "a", 2)])
    r = run(con, models=["first_touch", "last_touch"])
    assert credit(r, "first_touch") == {"alpha": 1.0}
    assert credit(r, "last_touch") == {"zeta": 1.0}
    con.disconnect()


def test_roi_from_costs_by_channel():
    con = backend(
        [touch("a", 1, "ads", campaign="c1")],
        [conversion("c", "a", 2, amount="300.00")],
        costs=[
            {"campaign": "c1", "channel": "ads", "day": "2024-01-01", "spend": "100.00"},
            {"campaign": "c9", "channel": "tv", "day": "2024-01-01", "spend": "50.00"},
        ],
    )
    r = run(con, models=["last_touch"])
    ads = r.get("ads", "last_touch")
    assert ads.spend == Decimal("100.00") and ads.roi == pytest.approx(2.0)
    tv = r.get("tv", "last_touch")  # spend without credit still shows, at -100 %
    assert tv.conversions == 0 and tv.roi == pytest.approx(-1.0)
    assert run(con, models=["last_touch"], by="content").notes  # no ROI below campaign level
    con.disconnect()


def test_custom_position_weights():
    con = backend(
        [touch("a", d, ch) for d, ch in ((1, "x"), (2, "y"), (3, "z"))], [conversion("c", "a", 4)]
    )
    r = run(con, models=["position_based"], position_weights=(0.3, 0.4, 0.3))
    assert credit(r, "position_based") == pytest.approx({"x": 0.3, "y": 0.4, "z": 0.3})
    con.disconnect()
