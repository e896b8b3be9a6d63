"""Turn aggregates into KPI values. Pure: a zero denominator gives `value=None` and a reason.

Definitions (sources in docs/kpis.md): stage conversion (cohort and period), time in stage,
velocity, lead velocity rate, sourced/influenced pipeline, pipeline velocity, CAC, CLV, ROI.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from marketops.analytics.kpis.config import UNIT_DAYS, KpisConfig

CENT = Decimal("0.01")
RATIO = Decimal("0.0001")
DAY = 86400.0


@dataclass(frozen=True)
class Kpi:
    section: str  # funnel, leads, pipeline, revenue, efficiency
    name: str
    label: str
    value: Any  # int, float (rates, days) or Decimal (money, ROI); None when undefined
    unit: str
    method: str = ""  # cohort | period | … : how it was counted
    numerator: Any = None
    denominator: Any = None
    undefined: str | None = None  # why value is None
    group: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ratio(num: Any, den: Any, why: str) -> tuple[float | None, str | None]:
    if not den:
        return None, why
    return round(float(num) / float(den), 6), None


def funnel_kpis(
    funnel: list[str],
    counts: dict[str, dict[int, int]],
    stays: dict[int, dict[str, Any]],
    steps: dict[int, dict[str, Any]],
) -> list[Kpi]:
    out: list[Kpi] = []
    entered, converted = counts["entered"], counts["converted"]
    for i, (a, b) in enumerate(itertools.pairwise(funnel)):
        label = f"{a} → {b}"
        n_a = entered.get(i, 0)
        v, why = ratio(converted.get(i, 0), n_a, f"no lead first entered {a} in the period")
        out.append(
            Kpi(
                "funnel",
                "stage_conversion",
                label,
                v,
                "ratio",
                "cohort",
                converted.get(i, 0),
                n_a,
                why,
            )
        )
        v, why = ratio(entered.get(i + 1, 0), n_a, f"no lead first entered {a} in the period")
        out.append(
            Kpi(
                "funnel",
                "stage_conversion",
                label,
                v,
                "ratio",
                "period",
                entered.get(i + 1, 0),
                n_a,
                why,
            )
        )
    for i, stage in enumerate(funnel):
        s = stays.get(i)
        n = int(s["n"]) if s else 0
        why = None if n else f"no completed stay in {stage} ended in the period"
        for stat in ("mean", "median"):
            v = round(float(s[f"{stat}_s"]) / DAY, 6) if n else None
            out.append(
                Kpi(
                    "funnel",
                    f"time_in_stage_{stat}",
                    stage,
                    v,
                    "days",
                    "stays ended in period",
                    None,
                    n,
                    why,
                )
            )
    for i, (a, b) in enumerate(itertools.pairwise(funnel)):
        s = steps.get(i + 1)
        n = int(s["n"]) if s else 0
        why = None if n else f"no lead moved from {a} to {b} in the period"
        for stat in ("mean", "median"):
            v = round(float(s[f"{stat}_s"]) / DAY, 6) if n else None
            out.append(
                Kpi(
                    "funnel",
                    f"velocity_{stat}",
                    f"{a} → {b}",
                    v,
                    "days",
                    "entered later stage in period",
                    None,
                    n,
                    why,
                )
            )
    return out


def lead_velocity(stage: str, monthly: list[tuple[datetime, int]]) -> list[Kpi]:
    """LVR = (qualified this month − qualified last month) ÷ qualified last month."""
    out = []
    for (_, prev), (month, cur) in itertools.pairwise(monthly):
        v, why = ratio(cur - prev, prev, f"no lead first entered {stage} the month before")
        out.append(
            Kpi(
                "leads",
                "lead_velocity_rate",
                month.strftime("%Y-%m"),
                v,
                "ratio",
                "month over month",
                cur - prev,
                prev,
                why,
                stage,
            )
        )
    return out


def _money_ratio(num: Decimal, den: Decimal | int, why: str) -> tuple[Decimal | None, str | None]:
    if not den:
        return None, why
    return (Decimal(num) / Decimal(den)).quantize(CENT), None


def pipeline_kpis(pl: dict[str, Any]) -> list[Kpi]:
    created = pl["created_amount"]
    out = [
        Kpi(
            "pipeline",
            "pipeline_created",
            "opportunities created",
            created,
            "money",
            "period",
            None,
            pl["created"],
        ),
        Kpi(
            "pipeline",
            "marketing_sourced_pipeline",
            "first touch is marketing",
            pl["sourced_amount"],
            "money",
            "period",
            None,
            pl["sourced"],
        ),
        Kpi(
            "pipeline",
            "marketing_influenced_pipeline",
            "a marketing touch in the window",
            pl["influenced_amount"],
            "money",
            "period",
            None,
            pl["influenced"],
        ),
    ]
    for key, name in (
        ("sourced", "marketing_sourced_share"),
        ("influenced", "marketing_influenced_share"),
    ):
        v, why = ratio(pl[f"{key}_amount"], created, "no pipeline created in the period")
        out.append(
            Kpi(
                "pipeline",
                name,
                f"{key} ÷ created",
                v,
                "ratio",
                "period",
                pl[f"{key}_amount"],
                created,
                why,
            )
        )
    return out


def velocity_kpis(d: dict[str, Any]) -> list[Kpi]:
    """Pipeline velocity = open opportunities × win rate × average deal ÷ sales-cycle days."""
    win_rate, why_w = ratio(d["won"], d["won"] + d["lost"], "no deal closed in the period")
    deal, why_d = _money_ratio(
        d["won_amount"], d["won_with_amount"], "no won deal with an amount in the period"
    )
    cycle, why_c = ratio(d["cycle_s"] / DAY, d["won"], "no deal won in the period")
    out = [
        Kpi(
            "pipeline",
            "open_opportunities",
            "open at period end",
            d["open_at_end"],
            "count",
            "at period end",
        ),
        Kpi(
            "pipeline",
            "win_rate",
            "won ÷ (won + lost)",
            win_rate,
            "ratio",
            "closed in period",
            d["won"],
            d["won"] + d["lost"],
            why_w,
        ),
        Kpi(
            "pipeline",
            "average_deal_size",
            "won amount ÷ won deals",
            deal,
            "money",
            "closed in period",
            d["won_amount"],
            d["won_with_amount"],
            why_d,
        ),
        Kpi(
            "pipeline",
            "sales_cycle_days",
            "created → won",
            cycle,
            "days",
            "closed in period",
            None,
            d["won"],
            why_c,
        ),
    ]
    why = why_w or why_d or why_c or (None if cycle else "sales cycle is 0 days")
    value = None
    if why is None:
        # exact inputs (not the rounded figures shown above): n × won/closed × amount/deals ÷ days
        exact_cycle = Decimal(str(d["cycle_s"])) / Decimal(int(DAY)) / d["won"]
        value = (
            Decimal(d["open_at_end"])
            * Decimal(d["won"])
            / Decimal(d["won"] + d["lost"])
            * (d["won_amount"] / d["won_with_amount"])
            / exact_cycle
        ).quantize(CENT)
    out.append(
        Kpi(
            "pipeline",
            "pipeline_velocity",
            "open × win rate × deal ÷ cycle days",
            value,
            "money/day",
            "open at end, rates from deals closed in period",
            None,
            None,
            why,
        )
    )
    return out


def efficiency_kpis(d: dict[str, Any], spend: dict[str, Any], cfg: KpisConfig) -> list[Kpi]:
    """CAC = spend ÷ new customers; with no cost rows at all in the period CAC is undefined (the
    spend is unknown, not zero)."""
    blended, why_b = _money_ratio(
        spend["total"], d["new_customers"], "no new customer in the period"
    )
    paid, why_p = _money_ratio(
        spend["paid"], d["paid_customers"], "no new customer whose first touch is a paid channel"
    )
    if not spend["rows"]:
        why_b = why_p = "no cost rows recorded for the period"
        blended = paid = None
    out = [
        Kpi(
            "efficiency",
            "new_customers",
            "won deals' people",
            d["new_customers"],
            "count",
            "closed in period",
        ),
        Kpi(
            "efficiency",
            "cac_blended",
            "all spend ÷ new customers",
            blended,
            "money",
            "period",
            spend["total"],
            d["new_customers"],
            why_b,
        ),
        Kpi(
            "efficiency",
            "cac_paid",
            "paid spend ÷ paid-sourced customers",
            paid,
            "money",
            "period",
            spend["paid"],
            d["paid_customers"],
            why_p,
        ),
    ]
    c = cfg.clv
    unit = c.time_unit
    if c.arpa is not None:
        arpa, why_a = Decimal(c.arpa).quantize(CENT), None
    else:
        per_unit = Decimal(str(UNIT_DAYS[c.deal_term] / UNIT_DAYS[unit]))
        deal, why_a = _money_ratio(
            d["won_amount"],
            d["won_with_amount"],
            "no won deal with an amount in the period (set clv.arpa)",
        )
        arpa = (deal / per_unit).quantize(CENT) if deal is not None else None
    out.append(
        Kpi(
            "efficiency",
            "arpa",
            f"revenue per account per {unit}",
            arpa,
            f"money/{unit}",
            "configured" if c.arpa else f"average won deal ÷ {c.deal_term}",
            None,
            None,
            why_a,
        )
    )
    why = why_a
    if why is None and c.churn_rate is None:
        why = "clv.churn_rate is not set in kpis.yml"
    elif why is None and c.churn_rate == 0:
        why = "churn rate is 0: lifetime is unbounded"
    value = None
    if why is None and arpa is not None and c.churn_rate:
        value = (arpa * Decimal(str(c.gross_margin)) / Decimal(str(c.churn_rate))).quantize(CENT)
    out.append(
        Kpi(
            "efficiency",
            "clv",
            f"ARPA × margin ÷ churn (per {unit})",
            value,
            "money",
            f"ARPA per {unit}, churn per {unit}",
            None,
            None,
            why,
        )
    )
    return out


def roi_kpis(rows: list[tuple[str, Decimal, Decimal | None]], model: str) -> list[Kpi]:
    """Campaign ROI = (attributed revenue − cost) ÷ cost."""
    out = []
    for campaign, revenue, cost in rows:
        why = "no cost recorded for this campaign" if not cost else None
        value = None if why else ((revenue - cost) / cost).quantize(RATIO)
        out.append(
            Kpi(
                "efficiency",
                "campaign_roi",
                campaign,
                value,
                "ratio",
                f"attribution: {model}",
                revenue - (cost or 0),
                cost,
                why,
                campaign,
            )
        )
    return out
