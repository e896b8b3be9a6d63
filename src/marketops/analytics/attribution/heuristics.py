"""Rule-based models as Ibis window expressions: one weight column per model, summed per group.

Every model gives each conversion a total weight of 1 over its path's touches. Models with several
named positions (position-based, W-shaped, full-path) add the fixed weights of the positions a touch
holds and then renormalise within the path, which handles short paths and coinciding milestones
(first touch == lead touch) without special cases: a 2-touch path under 40/20/40 becomes 50/50, and
a W-shaped path whose lead and opportunity touch coincide gives that touch 60/100 before
renormalisation. Missing milestones (no lead record) simply drop out.
"""

from __future__ import annotations

import math
from datetime import datetime

import ibis
from ibis.expr.types import BooleanValue, NumericValue, Table

from marketops.analytics.attribution.config import HEURISTICS, AttributionConfig
from marketops.analytics.attribution.journeys import conversion_paths

MILESTONE_MODELS = ("w_shaped", "full_path")


def _flag(cond: BooleanValue) -> NumericValue:
    return ibis.ifelse(cond.fill_null(False), 1.0, 0.0)


def weighted_paths(
    tp: Table, conv: Table, cfg: AttributionConfig, now: datetime, models: list[str]
) -> Table:
    """conversion_paths plus one float column per requested heuristic model."""
    unknown = set(models) - set(HEURISTICS)
    if unknown:
        raise ValueError(f"not heuristic models: {sorted(unknown)}")
    need_marks = any(m in MILESTONE_MODELS for m in models)
    p = conversion_paths(tp, conv, cfg, now, level=cfg.by, milestones=need_marks)
    whole = ibis.window(group_by="conversion_id")
    helpers: dict[str, ibis.Value] = {}
    if "last_non_direct" in models:
        direct = p.channel.lower().isin([d.lower() for d in cfg.direct_channels]).fill_null(False)
        helpers["_lnd"] = ibis.ifelse(direct, ibis.null("int64"), p.pos).max().over(whole)
    if "time_decay" in models:
        # whole seconds everywhere: Spark truncates to seconds, DuckDB/PostgreSQL keep fractions
        secs = p.ts.epoch_seconds().cast("float64").floor().cast("float64")
        helpers["_age"] = secs.max().over(whole) - secs
    if need_marks:
        lead_at = p.ts <= p.lead_ts
        opp_at = p.ts <= p.opp_ts
        helpers["_lead_pos"] = ibis.ifelse(lead_at, p.pos, ibis.null("int64")).max().over(whole)
        helpers["_opp_pos"] = ibis.ifelse(opp_at, p.pos, ibis.null("int64")).max().over(whole)
    if helpers:
        p = p.mutate(**helpers)

    raw: dict[str, NumericValue] = {}
    if need_marks:
        marks = _flag(p.pos == 0) + _flag(p.pos == p._lead_pos) + _flag(p.pos == p._opp_pos)
        p = p.mutate(_w_mid=_flag(marks == 0), _z_mid=_flag((marks + _flag(p.pos == p.n - 1)) == 0))
        p = p.mutate(_w_nmid=p._w_mid.sum().over(whole), _z_nmid=p._z_mid.sum().over(whole))
        is_first, is_lead, is_opp, is_close = (
            _flag(p.pos == 0),
            _flag(p.pos == p._lead_pos),
            _flag(p.pos == p._opp_pos),
            _flag(p.pos == p.n - 1),
        )
        if "w_shaped" in models:
            raw["w_shaped"] = 0.3 * (is_first + is_lead + is_opp) + ibis.ifelse(
                p._w_nmid > 0, 0.1 * p._w_mid / p._w_nmid, 0.0
            )
        if "full_path" in models:
            raw["full_path"] = 0.225 * (is_first + is_lead + is_opp + is_close) + ibis.ifelse(
                p._z_nmid > 0, 0.1 * p._z_mid / p._z_nmid, 0.0
            )
    if "time_decay" in models:
        raw["time_decay"] = (-math.log(2) / (cfg.half_life_days * 86400.0) * p._age).exp()
    if raw:
        p = p.mutate(**{f"_raw_{k}": v for k, v in raw.items()})
        p = p.mutate(**{f"_sum_{k}": p[f"_raw_{k}"].sum().over(whole) for k in raw})

    wf, wm, wl = cfg.position_weights
    cols: dict[str, NumericValue] = {}
    for m in models:
        if m == "first_touch":
            cols[m] = _flag(p.pos == 0)
        elif m == "last_touch":
            cols[m] = _flag(p.pos == p.n - 1)
        elif m == "last_non_direct":
            cols[m] = _flag(p.pos == ibis.coalesce(p._lnd, p.n - 1))
        elif m == "linear":
            cols[m] = 1.0 / p.n.cast("float64")
        elif m == "position_based":
            two = wf + wl
            cols[m] = ibis.cases(
                (p.n == 1, 1.0),
                ((p.n == 2) & (p.pos == 0), wf / two),
                (p.n == 2, wl / two),
                (p.pos == 0, wf),
                (p.pos == p.n - 1, wl),
                else_=wm / (p.n - 2).cast("float64"),
            )
        else:
            cols[m] = p[f"_raw_{m}"] / p[f"_sum_{m}"]
    return p.mutate(**cols)


def heuristic_credits(
    tp: Table, conv: Table, cfg: AttributionConfig, now: datetime, models: list[str]
) -> Table:
    """Per group: `<model>` conversions credited and `<model>__rev` revenue credited (float)."""
    p = weighted_paths(tp, conv, cfg, now, models)
    amt = p.amount.cast("float64").fill_null(0.0)
    aggs: dict[str, ibis.Value] = {}
    for m in models:
        aggs[m] = p[m].sum()
        aggs[f"{m}__rev"] = (p[m] * amt).sum()
    return p.group_by(group=p.g).aggregate(**aggs)
