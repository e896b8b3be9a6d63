"""One use case: every funnel and revenue KPI for a period, from tables already in an engine.

`compute(con, cfg, funnel, qualified_stage, period, now)` reads `stage_entries`, `opportunities`,
`touchpoints`, `conversions` and `costs` from the Ibis backend `con` (see
`marketops.events.analytics.load_store`); `report(ctx, …)` loads the store into DuckDB first.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from marketops.analytics.kpis import derive, funnel, revenue
from marketops.analytics.kpis.config import KpisConfig
from marketops.analytics.kpis.derive import Kpi
from marketops.analytics.kpis.period import Period
from marketops.errors import MarketopsError, Problem


@dataclass
class KpiReport:
    period: Period
    now: datetime
    kpis: list[Kpi]
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": {
                "label": self.period.label,
                "start": self.period.start.isoformat(),
                "end": self.period.end.isoformat(),
                "end_is": "exclusive",
            },
            "now": self.now.isoformat(),
            # money as strings: JSON numbers would turn Decimal into binary floats
            "kpis": [
                {k: str(v) if isinstance(v, Decimal) else v for k, v in kpi.as_dict().items()}
                for kpi in self.kpis
            ],
            "notes": self.notes,
        }

    def csv(self) -> str:
        buf = io.StringIO()
        cols = list(Kpi.__dataclass_fields__)
        w = csv.writer(buf)
        w.writerow(["period", *cols])
        for k in self.kpis:
            d = k.as_dict()
            d["value"] = "undefined" if k.value is None else k.value
            w.writerow([self.period.label, *("" if d[c] is None else d[c] for c in cols)])
        return buf.getvalue()


def default_funnel(lifecycle: Any) -> list[str]:
    """Lifecycle stages minus Anonymous, the recycle stages and Disqualified, in declared order."""
    skip = {"Anonymous", "Disqualified", *lifecycle.recycle}
    return [s for s in lifecycle.stages if s not in skip]


def check_stages(funnel_stages: list[str], qualified: str, lifecycle: Any) -> None:
    known = set(lifecycle.stages)
    bad = [s for s in [*funnel_stages, qualified] if s not in known]
    if bad or len(funnel_stages) < 2:
        raise MarketopsError(
            "kpis.yml: bad funnel",
            [
                Problem(
                    "kpis.yml funnel",
                    f"unknown stage(s) {bad}" if bad else "needs 2+ stages",
                    f"use stages from lifecycle.yml: {lifecycle.stages}",
                )
            ],
        )


def compute(
    con: Any,
    cfg: KpisConfig,
    funnel_stages: list[str],
    qualified_stage: str,
    period: Period,
    now: datetime,
) -> KpiReport:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    se, op = con.table("stage_entries"), con.table("opportunities")
    tp, costs = con.table("touchpoints"), con.table("costs")
    kpis: list[Kpi] = []
    notes: list[str] = []
    if period.end > now:
        notes.append("the period has not ended: figures are to date")
    kpis += derive.funnel_kpis(
        funnel_stages,
        funnel.stage_counts(se, funnel_stages, period, now),
        funnel.time_in_stage(se, funnel_stages, period),
        funnel.velocity(se, funnel_stages, period),
    )
    kpis += derive.lead_velocity(
        qualified_stage, funnel.qualified_by_month(se, qualified_stage, period)
    )
    kpis += derive.pipeline_kpis(revenue.pipeline(op, tp, cfg, period, now))
    deals = revenue.deals(op, tp, cfg, period, now)
    kpis += derive.velocity_kpis(deals)
    kpis += derive.efficiency_kpis(deals, revenue.spend(costs, cfg, period), cfg)
    kpis += derive.roi_kpis(campaign_roi_rows(con, cfg, period, notes), cfg.roi_model)
    return KpiReport(period, now, kpis, notes)


def campaign_roi_rows(
    con: Any, cfg: KpisConfig, period: Period, notes: list[str]
) -> list[tuple[str, Decimal, Decimal | None]]:
    """Attributed won revenue and spend per campaign, from the attribution engine (not redone)."""
    from marketops.analytics.attribution.config import AttributionConfig
    from marketops.analytics.attribution.service import attribute

    acfg = AttributionConfig(
        by="campaign",
        models=[cfg.roi_model],
        kinds=["closed_won"],
        lookback_days=period.days,
    )
    # attribution windows are (now - lookback, now]; ending 1 µs before the period's exclusive end
    # makes them [start, end) for conversions and the period's days for costs
    result = attribute(con, acfg, period.end - timedelta(microseconds=1), with_coverage=False)
    notes.extend(f"campaign ROI: {n}" for n in result.notes)
    rows = []
    for c in result.credits:
        if c.revenue == 0 and not c.spend:
            continue
        rows.append((c.group, c.revenue, c.spend))
    return rows


def report(ctx: Any, period: Period, now: datetime, *, engine_url: str | None = None) -> KpiReport:
    """Copy the store into the analytics engine (in-memory DuckDB by default) and compute.

    The engine may not be the store's own PostgreSQL database (`refuse_store_database`).
    """
    from marketops.analytics.engines import connect
    from marketops.events.analytics import load_store

    cfg: KpisConfig = ctx.workspace.extra("kpis.yml")
    lifecycle = ctx.workspace.lifecycle
    stages = cfg.funnel or default_funnel(lifecycle)
    qualified = cfg.qualified_stage or lifecycle.mql_stage
    check_stages(stages, qualified, lifecycle)
    con = connect(engine_url)
    try:
        load_store(ctx.engine, con)
        return compute(con, cfg, stages, qualified, period, now)
    finally:
        disconnect = getattr(con, "disconnect", None)
        if disconnect:
            disconnect()
