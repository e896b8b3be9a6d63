"""Attribution coverage: how much of pipeline and revenue can be tied to a tagged touch at all.

A conversion is attributed when its person has, inside the conversion window, at least one counted
touch carrying both a campaign and a channel. Otherwise the reason is the first that applies:
`unknown identity` (no person_id), `no touch` (no counted touch in the window), `untagged touch`
(touches, but none with campaign + channel).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import ibis
from ibis.expr.types import Table

from marketops.analytics.attribution.config import AttributionConfig
from marketops.analytics.attribution.journeys import _window, scoped_touches

REASONS = ("unknown identity", "no touch", "untagged touch")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class CoverageLine:
    metric: str  # opportunities | pipeline | revenue
    total: Decimal  # count (opportunities) or money
    attributed: Decimal
    share: float | None


@dataclass(frozen=True)
class Unattributed:
    metric: str
    reason: str
    count: int
    amount: Decimal


@dataclass(frozen=True)
class Coverage:
    lines: list[CoverageLine]
    unattributed: list[Unattributed]


def coverage_table(tp: Table, conv: Table, cfg: AttributionConfig, now: datetime) -> Table:
    """Per (metric, reason): conversions and amount; reason 'attributed' for the covered ones."""
    c = conv.filter(conv.ts <= now)
    if cfg.lookback_days is not None:
        from datetime import timedelta

        c = c.filter(c.ts > now - timedelta(days=cfg.lookback_days))
    is_opp = c.kind == cfg.opportunity_kind
    is_won = (c.kind == cfg.won_kind) | (is_opp & c.won.fill_null(False))
    c = c.filter(is_opp | is_won).mutate(opp_flag=is_opp, won_flag=is_won)
    c = c.select(
        "conversion_id", "opp_flag", "won_flag", c_person=c.person_id, c_ts=c.ts, amount=c.amount
    )
    t = scoped_touches(tp, cfg, now)
    t = t.select(
        t_person=t.person_id,
        t_ts=t.ts,
        tagged=ibis.ifelse(t.campaign.notnull() & t.channel.notnull(), 1, 0),
    )
    j = c.left_join(
        t, [c.c_person == t.t_person, t.t_ts <= c.c_ts, t.t_ts >= c.c_ts - _window(cfg)]
    )
    per = j.group_by(["conversion_id", "opp_flag", "won_flag", "c_person", "amount"]).aggregate(
        touches=j.t_ts.count(), tagged=j.tagged.sum()
    )
    per = per.mutate(
        reason=ibis.cases(
            (per.c_person.isnull(), REASONS[0]),
            (per.touches == 0, REASONS[1]),
            (per.tagged.fill_null(0) == 0, REASONS[2]),
            else_="attributed",
        )
    )
    return per.group_by(["reason", "opp_flag", "won_flag"]).aggregate(
        n=per.count(), amount=per.amount.sum()
    )


def summarize(df) -> Coverage:  # df: coverage_table(...).to_pandas()
    def money(x: object) -> Decimal:
        return Decimal(0) if x is None or x != x else Decimal(str(x)).quantize(CENT)

    buckets: dict[tuple[str, str], tuple[int, Decimal]] = {}
    for row in df.itertuples(index=False):
        metrics = (["opportunities", "pipeline"] if row.opp_flag else []) + (
            ["revenue"] if row.won_flag else []
        )
        for m in metrics:
            n, a = buckets.get((m, row.reason), (0, Decimal(0)))
            buckets[(m, row.reason)] = (n + int(row.n), a + money(row.amount))
    lines, missing = [], []
    for m in ("opportunities", "pipeline", "revenue"):
        mine = {r: v for (mm, r), v in buckets.items() if mm == m}
        pick = 0 if m == "opportunities" else 1
        total = sum((Decimal(v[pick]) for v in mine.values()), Decimal(0))
        got = Decimal(mine.get("attributed", (0, Decimal(0)))[pick])
        lines.append(CoverageLine(m, total, got, float(got / total) if total else None))
        if m != "pipeline":  # pipeline shares the opportunities' reasons; list them once
            for r in REASONS:
                if r in mine:
                    missing.append(Unattributed(m, r, mine[r][0], mine[r][1]))
    return Coverage(lines, missing)
