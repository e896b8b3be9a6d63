"""Pipeline metrics shared by the dashboard, `marketops report scorecard` and the weekly mail.

Pure functions over what the store holds (stage moves and current assignments) plus two loaders.
Definitions:
- funnel: a lead has *reached* a stage when it has entered it or any later funnel stage (so a lead
  moved straight from Known to SQL counts for MQL and SAL too); the conversion rate of a step is
  reached(step) / reached(previous step).
- MQLs per week: leads first entering the lifecycle's `mql_stage`, by ISO week (Monday 00:00 UTC);
  a recycled lead qualifying again is not a new MQL (the same count as `report kpis`).
- lead velocity rate (Jason Lemkin, SaaStr, 2013: "the growth in qualified leads, real-time,
  month-over-month"): (MQLs last month − MQLs the month before) / MQLs the month before × 100, over
  the last two complete calendar months (UTC), so a half-finished month never reads as a drop.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, union_all

from marketops.store.schema import lead_events, leads
from marketops.workspace.models import Lifecycle, Routing


@dataclass(frozen=True)
class FunnelStep:
    stage: str
    reached: int
    rate: float | None  # from the previous step; None for the first step or an empty one
    of_top: float | None


@dataclass(frozen=True)
class Velocity:
    month: date  # first day of the last complete month
    mqls: int
    previous_month: date
    previous_mqls: int
    rate_pct: float | None  # None when the month before had no MQLs


@dataclass
class PipelineOverview:
    now: datetime
    total_leads: int
    funnel: list[FunnelStep]
    mqls_per_week: list[tuple[date, int]]
    mqls_per_month: list[tuple[date, int]]
    velocity: Velocity


@dataclass(frozen=True)
class MemberLoad:
    member: str
    weight: int
    leads: int
    share: float | None
    target_share: float


@dataclass
class QueueLoad:
    queue: str
    leads: int
    members: list[MemberLoad] = field(default_factory=list)
    other_owners: dict[str, int] = field(default_factory=dict)  # owners not (or no longer) members


def funnel_stages(lifecycle: Lifecycle) -> list[str]:
    """The main path: from `initial`, follow each stage to the next declared one while allowed.

    Side stages (Nurture, Disqualified) are declared after the path, so they fall off the chain.
    """
    allowed = {t.from_: set(t.to) for t in lifecycle.transitions}
    order = list(lifecycle.stages)
    path = [lifecycle.initial]
    i = order.index(lifecycle.initial)
    while i + 1 < len(order) and order[i + 1] in allowed.get(order[i], set()):
        i += 1
        path.append(order[i])
    return path


def funnel(furthest: Iterable[int] | Mapping[int, int], stages: Sequence[str]) -> list[FunnelStep]:
    """`furthest`: per lead, the index in `stages` of the furthest stage it reached (-1: none), or
    already counted as {index: leads}."""
    counts = furthest if isinstance(furthest, Mapping) else Counter(furthest)
    reached, running = [0] * len(stages), 0
    for i in range(len(stages) - 1, -1, -1):
        running += counts.get(i, 0)
        reached[i] = running
    steps = []
    for i, stage in enumerate(stages):
        prev = reached[i - 1] if i else None
        steps.append(
            FunnelStep(
                stage,
                reached[i],
                reached[i] / prev if prev else None,
                reached[i] / reached[0] if reached[0] else None,
            )
        )
    return steps


def week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


def weekly_counts(
    times: Iterable[datetime], now: datetime, weeks: int = 12
) -> list[tuple[date, int]]:
    """Counts per ISO week for the `weeks` weeks ending with the week of `now` (zeros included)."""
    last = week_start(now.date())
    starts = [last - timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]
    c = Counter(week_start(t.date()) for t in times if t <= now)
    return [(s, c.get(s, 0)) for s in starts]


def _month(d: date, back: int = 0) -> date:
    m = d.year * 12 + d.month - 1 - back
    return date(m // 12, m % 12 + 1, 1)


def monthly_counts(
    times: Iterable[datetime], now: datetime, months: int = 6
) -> list[tuple[date, int]]:
    """Counts per calendar month for the `months` months ending with the month of `now`."""
    starts = [_month(now.date(), k) for k in range(months - 1, -1, -1)]
    c = Counter(_month(t.date()) for t in times if t <= now)
    return [(s, c.get(s, 0)) for s in starts]


def lead_velocity(times: Iterable[datetime], now: datetime) -> Velocity:
    last, before = _month(now.date(), 1), _month(now.date(), 2)
    c = Counter(_month(t.date()) for t in times if t <= now)
    this_n, prev_n = c.get(last, 0), c.get(before, 0)
    rate = (this_n - prev_n) / prev_n * 100 if prev_n else None
    return Velocity(last, this_n, before, prev_n, rate)


def overview_from(
    current_stage: dict[str, str],
    stage_moves: Iterable[tuple[str, str, datetime]],
    lifecycle: Lifecycle,
    now: datetime,
    weeks: int = 12,
) -> PipelineOverview:
    """Pure: leads' current stages and their stage moves (lead id, to, at) → the overview."""
    stages = funnel_stages(lifecycle)
    index = {s: i for i, s in enumerate(stages)}
    furthest: dict[str, int] = {lid: index.get(s, -1) for lid, s in current_stage.items()}
    first_mql: dict[str, datetime] = {}
    for lid, to, at in stage_moves:
        if at > now:
            continue
        furthest[lid] = max(furthest.get(lid, -1), index.get(to, -1))
        if to == lifecycle.mql_stage and (lid not in first_mql or at < first_mql[lid]):
            first_mql[lid] = at
    mql_times = list(first_mql.values())
    return PipelineOverview(
        now,
        len(current_stage),
        funnel(furthest.values(), stages),
        weekly_counts(mql_times, now, weeks),
        monthly_counts(mql_times, now, 6),
        lead_velocity(mql_times, now),
    )


def pipeline_overview(ctx: Any, now: datetime, weeks: int = 12) -> PipelineOverview:
    """The same overview as `overview_from`, aggregated by the store (SQLite or PostgreSQL): one
    GROUP BY for the funnel and only each lead's first MQL entry comes back, not every lead."""
    lifecycle = ctx.workspace.lifecycle
    stages = funnel_stages(lifecycle)
    to = lead_events.c.data["to"].as_string()
    reached = union_all(
        select(leads.c.id.label("lead_id"), leads.c.lifecycle_stage.label("stage")),
        select(lead_events.c.lead_id, to.label("stage")).where(
            lead_events.c.kind == "stage", lead_events.c.at <= now
        ),
    ).subquery()
    index = case({s: i for i, s in enumerate(stages)}, value=reached.c.stage, else_=-1)
    per_lead = (
        select(reached.c.lead_id, func.max(index).label("furthest"))
        .group_by(reached.c.lead_id)
        .subquery()
    )
    counts_q = select(per_lead.c.furthest, func.count()).group_by(per_lead.c.furthest)
    mql_q = (
        select(func.min(lead_events.c.at))
        .where(lead_events.c.kind == "stage", to == lifecycle.mql_stage, lead_events.c.at <= now)
        .group_by(lead_events.c.lead_id)
    )
    with ctx.engine.connect() as conn:
        total = conn.scalar(select(func.count()).select_from(leads)) or 0
        counts = {int(k): int(n) for k, n in conn.execute(counts_q)}
        mql_times = list(conn.execute(mql_q).scalars())
    return PipelineOverview(
        now,
        total,
        funnel(counts, stages),
        weekly_counts(mql_times, now, weeks),
        monthly_counts(mql_times, now, 6),
        lead_velocity(mql_times, now),
    )


def queue_loads(counts: Iterable[tuple[str, str | None, int]], routing: Routing) -> list[QueueLoad]:
    """Pure: (queue, owner, leads) rows → per queue, each member's leads against its weight share."""
    per: dict[str, dict[str | None, int]] = defaultdict(dict)
    for q, owner, n in counts:
        per[q][owner] = per[q].get(owner, 0) + n
    out = []
    declared = [q.name for q in routing.queues]
    for q in declared + sorted(set(per) - set(declared)):
        owners = per.get(q, {})
        spec = next((x for x in routing.queues if x.name == q), None)
        members = spec.members if spec else []
        total_w = sum(m.weight for m in members) or 1
        assigned = sum(n for o, n in owners.items() if o is not None)
        load = QueueLoad(q, sum(owners.values()))
        for m in members:
            n = owners.get(m.name, 0)
            load.members.append(
                MemberLoad(
                    m.name, m.weight, n, n / assigned if assigned else None, m.weight / total_w
                )
            )
        names = {m.name for m in members}
        load.other_owners = {(o or "(unassigned)"): n for o, n in owners.items() if o not in names}
        out.append(load)
    return out


def assignments(ctx: Any) -> list[QueueLoad]:
    """Current assignments (leads not suppressed) per queue and member."""
    q = (
        select(leads.c.queue, leads.c.owner, func.count())
        .where(leads.c.queue.is_not(None), leads.c.suppressed.is_(False))
        .group_by(leads.c.queue, leads.c.owner)
    )
    with ctx.engine.connect() as conn:
        rows = [(r[0], r[1], int(r[2])) for r in conn.execute(q)]
    return queue_loads(rows, ctx.workspace.routing)


# --- lifecycle SLAs (the `sla_timers` the lifecycle capability writes) ----------------------------
@dataclass(frozen=True)
class AtRisk:
    lead_id: str
    company: str | None
    stage: str
    owner: str | None
    sla: str
    due_at: datetime
    seconds_left: float  # negative: overdue, the worker has not fired it yet


@dataclass(frozen=True)
class OwnerSla:
    owner: str
    breached: int
    met: int
    adherence: float | None  # met / (met + breached)


@dataclass
class SlaOverview:
    horizon_h: float
    window_days: int
    at_risk: list[AtRisk]
    by_owner: list[OwnerSla]


def sla_by_owner(rows: Iterable[tuple[str | None, str]]) -> list[OwnerSla]:
    """Pure: (owner, outcome) per decided SLA clock, outcome "fired" (breached) or "stopped" (met)."""
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for owner, outcome in rows:
        tally[owner or "(no owner)"][0 if outcome == "fired" else 1] += 1
    out = [OwnerSla(o, b, m, m / (b + m) if b + m else None) for o, (b, m) in tally.items()]
    return sorted(out, key=lambda x: (-x.breached, x.owner))


def sla_overview(
    ctx: Any, now: datetime, horizon_h: float = 24, window_days: int = 30
) -> SlaOverview:
    """Leads whose SLA deadline falls within `horizon_h` (or has passed unfired), and per owner the
    deadlines breached (timer fired) and met (clock stopped first) in the last `window_days`.

    A deadline is the first timer (step 0) of an SLA whose action is not an automatic `move`.
    """
    from marketops.store.tables_lifecycle import sla_timers as t

    owner = func.coalesce(t.c.owner, leads.c.owner)
    base = (
        select(
            t.c.lead_id,
            leads.c.company,
            leads.c.lifecycle_stage,
            owner.label("owner"),
            t.c.sla,
            t.c.due_at,
            t.c.status,
        )
        .join(leads, leads.c.id == t.c.lead_id)
        .where(t.c.step == 0, t.c.action != "move")
    )
    risk_q = base.where(
        t.c.status == "pending",
        t.c.due_at.is_not(None),
        t.c.due_at <= now + timedelta(hours=horizon_h),
    ).order_by(t.c.due_at)
    done_q = (
        select(owner.label("owner"), t.c.status)
        .join(leads, leads.c.id == t.c.lead_id)
        .where(
            t.c.step == 0,
            t.c.action != "move",
            t.c.status.in_(("fired", "stopped")),
            t.c.resolved_at >= now - timedelta(days=window_days),
        )
    )
    with ctx.engine.connect() as conn:
        risk = [
            AtRisk(
                r.lead_id,
                r.company,
                r.lifecycle_stage,
                r.owner,
                r.sla,
                r.due_at,
                (r.due_at - now).total_seconds(),
            )
            for r in conn.execute(risk_q.limit(200))
        ]
        decided = [(r.owner, r.status) for r in conn.execute(done_q)]
    return SlaOverview(horizon_h, window_days, risk, sla_by_owner(decided))
