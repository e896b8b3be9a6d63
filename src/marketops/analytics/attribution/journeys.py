"""Journeys as Ibis expressions: which touches belong to which conversion, in what order.

Everything here builds expressions only; nothing executes until a caller asks for results, so the
same code compiles to DuckDB, PostgreSQL or Spark SQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
from ibis.expr.types import Table, Value

from marketops.analytics.attribution.config import AttributionConfig

NONE = "(none)"
SEP = "\x1f"  # joins channels into higher-order Markov states (never shown to users)


def group_key(t: Table, level: str) -> Value:
    """The grouping label of a touch; missing tags get a visible label rather than vanishing."""
    if level == "source_medium":
        return ibis.coalesce(t.source, NONE).concat(" / ", ibis.coalesce(t.medium, NONE))
    return ibis.coalesce(t[level], NONE)


def _sort_keys(t: Table) -> list[Value]:
    # Ties on ts are broken by the group label so that every backend orders them alike (NULL-free
    # by construction); two tied touches with the same label are interchangeable for every model.
    return [t.ts, t.g]


def scoped_conversions(conv: Table, cfg: AttributionConfig, now: datetime) -> Table:
    c = conv.filter(conv.ts <= now)
    if cfg.lookback_days is not None:
        c = c.filter(c.ts > now - timedelta(days=cfg.lookback_days))
    if cfg.kinds:
        c = c.filter(c.kind.isin(cfg.kinds))
    return c


def scoped_touches(tp: Table, cfg: AttributionConfig, now: datetime) -> Table:
    t = tp.filter(tp.ts <= now)
    if cfg.touch_types:
        t = t.filter(t.touch_type.isin(cfg.touch_types))
    return t


def _window(cfg: AttributionConfig) -> ibis.expr.types.IntervalScalar:
    return ibis.interval(seconds=round(cfg.conversion_window_days * 86400))


def conversion_paths(
    tp: Table,
    conv: Table,
    cfg: AttributionConfig,
    now: datetime,
    *,
    level: str,
    milestones: bool = False,
) -> Table:
    """One row per (conversion, credited touch) with pos (0-based) and n (touches in the path).

    With `milestones`, also lead_ts (the person's first lead creation at or before the conversion)
    and opp_ts (their latest opportunity creation at or before it) for W-shaped and full-path.
    """
    c = scoped_conversions(conv, cfg, now).filter(lambda x: x.person_id.notnull())
    c = c.select("conversion_id", c_person=c.person_id, conv_ts=c.ts, amount=c.amount)
    t = scoped_touches(tp, cfg, now)
    t = t.select("person_id", "ts", "channel", g=group_key(t, level))
    j = c.join(
        t,
        [c.c_person == t.person_id, t.ts <= c.conv_ts, t.ts >= c.conv_ts - _window(cfg)],
    )
    if milestones:
        j = j.left_join(_milestones(conv, c, cfg), "conversion_id").drop("conversion_id_right")
    w = ibis.window(group_by="conversion_id", order_by=_sort_keys(j))
    whole = ibis.window(group_by="conversion_id")
    return j.mutate(pos=ibis.row_number().over(w), n=j.ts.count().over(whole))


def _milestones(conv: Table, c: Table, cfg: AttributionConfig) -> Table:
    marks = conv.filter(conv.kind.isin([cfg.lead_kind, cfg.opportunity_kind])).select(
        m_person=conv.person_id, m_ts=conv.ts, m_kind=conv.kind
    )
    m = c.join(marks, [c.c_person == marks.m_person, marks.m_ts <= c.conv_ts])
    return m.group_by("conversion_id").aggregate(
        lead_ts=m.m_ts.min(where=m.m_kind == cfg.lead_kind),
        opp_ts=m.m_ts.max(where=m.m_kind == cfg.opportunity_kind),
    )


def journeys(tp: Table, conv: Table, cfg: AttributionConfig, now: datetime, *, level: str) -> Table:
    """Converting paths plus non-converting journeys, for the data-driven models.

    A non-converting journey is the in-scope touches of a person with no in-scope conversion
    (lookback window applied to touches too). Columns: jid, converted, amount, pos, n, g.
    """
    paths = conversion_paths(tp, conv, cfg, now, level=level)
    conv_rows = paths.select(
        jid=paths.conversion_id,
        converted=ibis.literal(True),
        amount=paths.amount.cast("float64"),
        pos=paths.pos,
        n=paths.n,
        g=paths.g,
    )
    c = scoped_conversions(conv, cfg, now)
    t = scoped_touches(tp, cfg, now)
    if cfg.lookback_days is not None:
        t = t.filter(t.ts > now - timedelta(days=cfg.lookback_days))
    t = t.anti_join(c, t.person_id == c.person_id)
    t = t.mutate(g=group_key(t, level))
    w = ibis.window(group_by="person_id", order_by=_sort_keys(t))
    whole = ibis.window(group_by="person_id")
    null_rows = t.select(
        jid=ibis.literal("person:").concat(t.person_id),
        converted=ibis.literal(False),
        amount=ibis.literal(0.0, type="float64"),
        pos=ibis.row_number().over(w),
        n=t.ts.count().over(whole),
        g=t.g,
    )
    return conv_rows.union(null_rows)
