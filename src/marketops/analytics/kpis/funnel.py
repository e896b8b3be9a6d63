"""Funnel aggregates as Ibis expressions over `stage_entries` (lead_id, stage, at).

Each function returns plain counts and sums; the ratios are taken in `derive.py`, where a zero
denominator becomes "undefined" instead of 0 or infinity. A lead's *first* entry into a stage is
what counts, so a recycled lead (Nurture → MQL again) is not counted twice.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

import ibis

from marketops.analytics.kpis.period import Period, month_start, months


def _ranked(se: Any, funnel: list[str]) -> Any:
    """First entry of each lead into each funnel stage, with the stage's position."""
    se = se.filter(se.stage.isin(funnel))
    fe = se.group_by(["lead_id", "stage"]).aggregate(at=se.at.min())
    rank = ibis.cases(*((fe.stage == s, i) for i, s in enumerate(funnel)), else_=-1)
    return fe.mutate(rank=rank)


def _in(col: Any, p: Period) -> Any:
    return (col >= p.start) & (col < p.end)


def _secs(later: Any, earlier: Any) -> Any:
    return later.epoch_seconds() - earlier.epoch_seconds()


def _frame(expr: Any) -> list[dict[str, Any]]:
    return expr.to_pandas().to_dict("records")


def stage_counts(se: Any, funnel: list[str], p: Period, now: datetime) -> dict[str, Any]:
    """Per stage index: leads first entering it in the period, and of those (the cohort) how many
    went on to each later stage by `now` (reaching any later stage counts, so skips convert)."""
    fe = _ranked(se, funnel)
    entered = _frame(fe.filter(_in(fe.at, p)).group_by("rank").aggregate(n=fe.lead_id.count()))
    a = fe.filter(_in(fe.at, p)).select(a_lead=fe.lead_id, ra=fe.rank, a_at=fe.at)
    r = fe.filter(fe.at <= now).select(r_lead=fe.lead_id, rr=fe.rank, r_at=fe.at)
    # "reached the next stage or any later one": join on rr > ra, then one row per (lead, ra)
    j = a.join(r, [a.a_lead == r.r_lead, r.rr > a.ra, r.r_at >= a.a_at])
    conv = j.select("a_lead", "ra").distinct()
    converted = _frame(conv.group_by("ra").aggregate(n=conv.a_lead.count()))
    return {
        "entered": {int(x["rank"]): int(x["n"]) for x in entered},
        "converted": {int(x["ra"]): int(x["n"]) for x in converted},
    }


def time_in_stage(se: Any, funnel: list[str], p: Period) -> dict[int, dict[str, float]]:
    """Completed stays (left during the period): count, mean and median seconds, per stage."""
    w = ibis.window(group_by=se.lead_id, order_by=[se.at, se.stage])
    spans = se.mutate(left_at=se.at.lead().over(w))
    done = spans.filter(spans.left_at.notnull(), _in(spans.left_at, p), spans.stage.isin(funnel))
    secs = _secs(done.left_at, done.at)
    rank = ibis.cases(*((done.stage == s, i) for i, s in enumerate(funnel)), else_=-1)
    rows = _frame(
        done.mutate(rank=rank, secs=secs)
        .group_by("rank")
        .aggregate(n=ibis._.secs.count(), mean_s=ibis._.secs.mean(), median_s=ibis._.secs.median())
    )
    return {int(x["rank"]): x for x in rows}


def velocity(se: Any, funnel: list[str], p: Period) -> dict[int, dict[str, float]]:
    """Per funnel step (index of the later stage): leads that first entered it in the period
    after the stage before it, with mean and median seconds between the two first entries."""
    fe = _ranked(se, funnel)
    a = fe.select(a_lead=fe.lead_id, ra=fe.rank, a_at=fe.at)
    b = fe.filter(_in(fe.at, p)).select(b_lead=fe.lead_id, rb=fe.rank, b_at=fe.at)
    j = a.join(b, [a.a_lead == b.b_lead, a.ra == b.rb - 1, a.a_at <= b.b_at])
    j = j.mutate(secs=_secs(j.b_at, j.a_at))
    rows = _frame(
        j.group_by("rb").aggregate(n=j.secs.count(), mean_s=j.secs.mean(), median_s=j.secs.median())
    )
    return {int(x["rb"]): x for x in rows}


def qualified_by_month(se: Any, stage: str, p: Period) -> list[tuple[datetime, int]]:
    """First entries into `stage` per calendar month of the period, plus the month before it
    (lead velocity rate compares each month with the previous one). Month bounds are computed
    here in UTC, not by the engine, so no backend session time zone can shift them."""
    ms = months(p)
    bounds = [
        month_start(ms[0].year, ms[0].month - 1),
        *ms,
        month_start(ms[-1].year, ms[-1].month + 1),
    ]
    f = se.filter(se.stage == stage)
    fe = f.group_by("lead_id").aggregate(at=f.at.min())
    aggs = {
        f"m{i}": fe.count(where=(fe.at >= lo) & (fe.at < hi))
        for i, (lo, hi) in enumerate(itertools.pairwise(bounds))
    }
    row = fe.aggregate(**aggs).to_pandas().iloc[0]
    return [(bounds[i], int(row[f"m{i}"] or 0)) for i in range(len(bounds) - 1)]
