"""KPIs on a hand-computed world (tests/kpis/kpis_world.py), on DuckDB, plus the pure formulas
against published worked examples."""

from __future__ import annotations

from decimal import Decimal

import pytest
from kpis_world import CFG, FUNNEL, NOW, by_key, tables

from marketops.analytics.engines import connect
from marketops.analytics.kpis import derive
from marketops.analytics.kpis.config import KpisConfig
from marketops.analytics.kpis.period import parse_period
from marketops.analytics.kpis.service import compute
from marketops.events.analytics import put_kpi_tables


@pytest.fixture(scope="module")
def october():
    con = connect("duckdb://")
    put_kpi_tables(con, tables())
    return compute(con, CFG, FUNNEL, "MQL", parse_period("2026-10", NOW), NOW)


def test_stage_conversion_cohort_and_period(october):
    k = by_key(october)
    # cohorts of first entries in October: Known {B,C,D,F,G} -> B, C (MQL), F (skipped to SQL)
    assert k[("stage_conversion", "Known → MQL", "cohort")].value == 0.6
    assert k[("stage_conversion", "Known → MQL", "period")].value == 0.8  # MQL: A, B, H, C
    assert k[("stage_conversion", "MQL → SQL", "cohort")].value == 0.5  # A, B of A, B, H, C
    assert k[("stage_conversion", "MQL → SQL", "period")].value == 0.75  # SQL: A, F, B
    assert k[("stage_conversion", "SQL → Customer", "cohort")].value == round(1 / 3, 6)
    cohort = k[("stage_conversion", "Known → MQL", "cohort")]
    assert (cohort.numerator, cohort.denominator) == (3, 5)


def test_time_in_stage_and_velocity(october):
    k = by_key(october)
    stays = "stays ended in period"
    # Known stays that ended in October: A 12, B 4, C 9, F 10 days
    assert k[("time_in_stage_mean", "Known", stays)].value == 8.75
    assert k[("time_in_stage_median", "Known", stays)].value == 9.5
    # MQL: A 8, B 25, C 8 (C's second MQL stay is still open)
    assert k[("time_in_stage_mean", "MQL", stays)].value == round(41 / 3, 6)
    assert k[("time_in_stage_median", "MQL", stays)].value == 8.0
    customer = k[("time_in_stage_mean", "Customer", stays)]
    assert customer.value is None and "no completed stay" in customer.undefined
    step = "entered later stage in period"
    assert k[("velocity_mean", "Known → MQL", step)].value == round(25 / 3, 6)  # A 12, B 4, C 9
    assert k[("velocity_median", "Known → MQL", step)].value == 9.0
    assert k[("velocity_mean", "MQL → SQL", step)].value == 16.5  # A 8, B 25; F skipped MQL


def test_lead_velocity_rate(october):
    lvr = [x for x in october.kpis if x.name == "lead_velocity_rate"]
    assert [(x.label, x.value, x.numerator, x.denominator) for x in lvr] == [("2026-10", 3.0, 3, 1)]
    con = connect("duckdb://")
    put_kpi_tables(con, tables())
    sept = compute(con, CFG, FUNNEL, "MQL", parse_period("2026-09", NOW), NOW)
    lvr = [x for x in sept.kpis if x.name == "lead_velocity_rate"]
    assert lvr[0].value is None and "month before" in lvr[0].undefined


def test_pipeline_sourced_and_influenced(october):
    k = {x.name: x for x in october.kpis if x.section == "pipeline"}
    assert k["pipeline_created"].value == Decimal("21000.00")
    assert k["marketing_sourced_pipeline"].value == Decimal("15000.00")  # O1 (paid), O3 (email)
    assert k["marketing_influenced_pipeline"].value == Decimal("17000.00")  # O1, O2
    assert k["marketing_sourced_share"].value == round(15000 / 21000, 6)
    assert k["open_opportunities"].value == 2
    assert k["win_rate"].value == round(2 / 3, 6)
    assert k["average_deal_size"].value == Decimal("9000.00")
    assert k["sales_cycle_days"].value == 34.5  # (20 + 49) / 2
    # 2 × 2/3 × 9000 ÷ 34.5 = 347.826… per day
    assert k["pipeline_velocity"].value == Decimal("347.83")


def test_cac_clv_roi(october):
    k = {(x.name, x.label): x for x in october.kpis if x.section == "efficiency"}
    assert k[("cac_blended", "all spend ÷ new customers")].value == Decimal("1000.00")
    assert k[("cac_paid", "paid spend ÷ paid-sourced customers")].value == Decimal("900.00")
    assert k[("arpa", "revenue per account per month")].value == Decimal("750.00")
    assert k[("clv", "ARPA × margin ÷ churn (per month)")].value == Decimal("28125.00")
    roi = {x.group: x.value for x in october.kpis if x.name == "campaign_roi"}
    # linear: O1's 12000 split over brand and oct-news; O4's 6000 to retarget
    assert roi == {
        "brand": Decimal("3.0000"),  # (6000 − 1500) ÷ 1500
        "oct-news": Decimal("29.0000"),  # (6000 − 200) ÷ 200
        "retarget": Decimal("19.0000"),  # (6000 − 300) ÷ 300
    }


def test_pipeline_velocity_published_example():
    # pipeline velocity = opportunities × win rate × deal size ÷ cycle days (HubSpot's definition,
    # https://blog.hubspot.com/sales/pipeline-velocity); worked: 50 × 20% × $10,000 ÷ 60 = 1,666.67
    d = {
        "open_at_end": 50,
        "won": 20,
        "lost": 80,
        "won_amount": Decimal("200000.00"),
        "won_with_amount": 20,
        "cycle_s": 20 * 60 * 86400.0,
    }
    velocity = {x.name: x for x in derive.velocity_kpis(d)}["pipeline_velocity"]
    assert velocity.value == Decimal("1666.67")


def test_clv_published_example_and_undefined_values():
    # Skok, "SaaS Metrics 2.0": LTV = ARPA × gross margin % ÷ churn rate; worked: ARPA $100/month,
    # 80% margin, 2% monthly churn -> $4,000
    cfg = KpisConfig.model_validate(
        {"clv": {"arpa": "100", "gross_margin": 0.8, "churn_rate": 0.02}}
    )
    d = {"new_customers": 0, "paid_customers": 0, "won_amount": Decimal(0), "won_with_amount": 0}
    out = {
        x.name: x
        for x in derive.efficiency_kpis(
            d, {"rows": 1, "total": Decimal(5), "paid": Decimal(0)}, cfg
        )
    }
    assert out["clv"].value == Decimal("4000.00")
    # zero denominators are undefined with a reason, never 0 or infinity
    assert out["cac_blended"].value is None and "no new customer" in out["cac_blended"].undefined
    zero_churn = KpisConfig.model_validate({"clv": {"arpa": "100", "churn_rate": 0}})
    out = {
        x.name: x
        for x in derive.efficiency_kpis(
            d, {"rows": 0, "total": Decimal(0), "paid": Decimal(0)}, zero_churn
        )
    }
    assert out["clv"].value is None and "unbounded" in out["clv"].undefined
    assert "no cost rows" in out["cac_paid"].undefined
    assert derive.roi_kpis([("x", Decimal("10.00"), None)], "linear")[0].value is None
    assert derive.ratio(0, 0, "why") == (None, "why")


def test_periods():
    p = parse_period("2026-Q4", NOW)
    assert (p.start.month, p.end.year, p.end.month) == (10, 2027, 1)
    p = parse_period("2026-10-01..2026-10-31", NOW)
    assert p.days == 31
    assert parse_period(None, NOW).label == "2026-10"  # last full month
    with pytest.raises(Exception, match="bad period"):
        parse_period("October", NOW)
