"""Revenue aggregates as Ibis expressions over `opportunities`, `touchpoints` and `costs`.

Money stays Decimal (the engines' DECIMAL/NUMERIC sums); ratios are taken in `derive.py`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import ibis

from marketops.analytics.kpis.config import KpisConfig
from marketops.analytics.kpis.period import Period


def _in(col: Any, p: Period) -> Any:
    return (col >= p.start) & (col < p.end)


def _money(v: Any) -> Decimal:
    if v is None or v != v:  # NULL sum (no rows) or NaN from pandas
        return Decimal("0.00")
    return Decimal(str(v)).quantize(Decimal("0.01"))


def _first_touches(tp: Any, now: datetime) -> Any:
    """Each person's earliest touch up to `now` (ties broken by channel, for determinism)."""
    tp = tp.filter(tp.ts <= now, tp.person_id.notnull())
    w = ibis.window(group_by=tp.person_id, order_by=[tp.ts, tp.channel])
    ranked = tp.mutate(rn=ibis.row_number().over(w))
    return ranked.filter(ranked.rn == 0).select(
        ft_person=ranked.person_id, ft_ts=ranked.ts, ft_channel=ranked.channel
    )


def pipeline(op: Any, tp: Any, cfg: KpisConfig, p: Period, now: datetime) -> dict[str, Any]:
    """Opportunities created in the period: all, marketing-sourced (the person's first touch,
    before the opportunity, is a marketing channel) and marketing-influenced (a marketing touch in
    the influence window before creation)."""
    created = op.filter(_in(op.created_at, p))
    tot = created.aggregate(n=created.count(), amount=created.amount.sum()).to_pandas().iloc[0]
    ft = _first_touches(tp, now)
    mkt = ~ft.ft_channel.isin(cfg.non_marketing_channels) & ft.ft_channel.notnull()
    src = created.join(
        ft.filter(mkt),
        [created.person_id == ft.ft_person, ft.ft_ts <= created.created_at],
    )
    s = src.aggregate(n=src.count(), amount=src.amount.sum()).to_pandas().iloc[0]
    t = tp.filter(
        ~tp.channel.isin(cfg.non_marketing_channels) & tp.channel.notnull() & (tp.ts <= now)
    )
    window = ibis.interval(seconds=int(cfg.influence_window_days * 86400))
    inf = created.semi_join(
        t,
        [
            created.person_id == t.person_id,
            t.ts <= created.created_at,
            t.ts > created.created_at - window,
        ],
    )
    i = inf.aggregate(n=inf.count(), amount=inf.amount.sum()).to_pandas().iloc[0]
    return {
        "created": int(tot.n),
        "created_amount": _money(tot.amount),
        "sourced": int(s.n),
        "sourced_amount": _money(s.amount),
        "influenced": int(i.n),
        "influenced_amount": _money(i.amount),
    }


def deals(op: Any, tp: Any, cfg: KpisConfig, p: Period, now: datetime) -> dict[str, Any]:
    """Open opportunities at the period's end and deals closed in it (won/lost, amounts, cycle)."""
    open_at_end = op.filter(
        (op.created_at < p.end) & (op.closed_at.isnull() | (op.closed_at >= p.end))
    ).count()
    closed = op.filter(op.closed_at.notnull() & _in(op.closed_at, p))
    won = closed.status == "won"
    cycle = closed.closed_at.epoch_seconds() - closed.created_at.epoch_seconds()
    row = (
        closed.aggregate(
            won=closed.count(where=won),
            lost=closed.count(where=closed.status == "lost"),
            won_amount=closed.amount.sum(where=won),
            won_with_amount=closed.amount.count(where=won),
            cycle_s=cycle.sum(where=won),
        )
        .to_pandas()
        .iloc[0]
    )
    customers = closed.filter(won & closed.person_id.notnull())
    n_customers = customers.person_id.nunique()
    ft = _first_touches(tp, now)
    paid = customers.join(
        ft.filter(ft.ft_channel.isin(cfg.paid_channels)), customers.person_id == ft.ft_person
    )
    return {
        "open_at_end": int(open_at_end.to_pandas()),
        "won": int(row.won or 0),
        "lost": int(row.lost or 0),
        "won_amount": _money(row.won_amount),
        "won_with_amount": int(row.won_with_amount or 0),
        "cycle_s": float(row.cycle_s or 0.0),
        "new_customers": int(n_customers.to_pandas()),
        "paid_customers": int(paid.ft_person.nunique().to_pandas()),
    }


def spend(costs: Any, cfg: KpisConfig, p: Period) -> dict[str, Any]:
    """Spend on days inside the period: all of it, and on the paid channels."""
    c = costs.filter((costs.day >= p.start.date()) & (costs.day < p.end.date()))
    row = (
        c.aggregate(
            n_rows=c.count(),
            total=c.spend.sum(),
            paid=c.spend.sum(where=c.channel.isin(cfg.paid_channels)),
        )
        .to_pandas()
        .iloc[0]
    )
    return {"rows": int(row["n_rows"]), "total": _money(row.total), "paid": _money(row.paid)}
