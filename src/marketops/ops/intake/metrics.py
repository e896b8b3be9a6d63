"""MOPS team metrics over requests, as pure functions (the caller hands in records and `now`).

- time-to-campaign: from request creation to first `live`, for launch requests that went live in
  the period, in calendar time and in business time on the class's calendar;
- SLA adherence per class and goal: met cycles / (met + breached) over requests created in the
  period (cancelled requests excluded; cycles still running and not yet breached are pending);
- backlog aging per class: share of open requests (not done or cancelled) older than N days;
- template reuse rate: requests that started from a template / requests of types offering one;
- self-serve share: requests completed by marketers themselves / all requests, created in period.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from marketops.ops.calendars import BusinessCalendar, SlaGoal, SlaStatus, evaluate_sla
from marketops.ops.intake.states import CANCELLED, CLOSED_STATES, sla_events

HOUR = 3600.0


@dataclass(frozen=True)
class RequestRecord:
    """What the metrics need to know about one request."""

    id: int
    type: str
    class_: str
    state: str
    created_at: dt.datetime
    moves: tuple[tuple[dt.datetime, str | None, str], ...] = ()  # (at, from_state, to_state)
    is_launch: bool = False
    live_at: dt.datetime | None = None
    self_serve: bool = False
    template: str | None = None
    templates_offered: bool = False

    @property
    def is_open(self) -> bool:
        return self.state not in CLOSED_STATES

    def events(self) -> list[tuple[dt.datetime, str]]:
        return list(sla_events(self.moves))


def request_sla(
    record: RequestRecord, goals: Sequence[SlaGoal], now: dt.datetime
) -> list[SlaStatus]:
    """Every goal's clock for one request as of `now` (JSM semantics, multi-cycle)."""
    events = record.events()
    return [evaluate_sla(goal, events, now) for goal in goals]


def _in(at: dt.datetime | None, since: dt.datetime, until: dt.datetime) -> bool:
    return at is not None and since <= at < until


def _summary(hours: list[float]) -> dict[str, Any]:
    if not hours:
        return {"count": 0, "median_hours": None, "mean_hours": None}
    return {
        "count": len(hours),
        "median_hours": round(statistics.median(hours), 4),
        "mean_hours": round(statistics.fmean(hours), 4),
    }


def time_to_campaign(
    records: Iterable[RequestRecord],
    calendar_for: Callable[[str], BusinessCalendar],
    since: dt.datetime,
    until: dt.datetime,
) -> dict[str, Any]:
    """Creation → first live, calendar and business hours, overall and per class."""
    cal_h: dict[str, list[float]] = defaultdict(list)
    biz_h: dict[str, list[float]] = defaultdict(list)
    for r in records:
        if not r.is_launch or not _in(r.live_at, since, until):
            continue
        assert r.live_at is not None
        calendar = (r.live_at - r.created_at).total_seconds() / HOUR
        business = calendar_for(r.class_).business_time_between(r.created_at, r.live_at)
        for key in ("all", r.class_):
            cal_h[key].append(calendar)
            biz_h[key].append(business.total_seconds() / HOUR)
    keys = sorted(cal_h, key=lambda k: (k != "all", k))
    return {k: {"calendar": _summary(cal_h[k]), "business": _summary(biz_h[k])} for k in keys}


@dataclass
class _Tally:
    met: int = 0
    breached: int = 0
    pending: int = 0

    def as_dict(self) -> dict[str, Any]:
        decided = self.met + self.breached
        return {
            "met": self.met,
            "breached": self.breached,
            "pending": self.pending,
            "adherence": round(self.met / decided, 4) if decided else None,
        }


def sla_adherence(
    records: Iterable[RequestRecord],
    goals_for: Callable[[str], Sequence[SlaGoal]],
    now: dt.datetime,
    since: dt.datetime,
    until: dt.datetime,
) -> dict[str, Any]:
    """Per class: every goal's met / breached / pending cycles and the adherence, plus the class
    total over all its goals. A breached cycle counts as soon as it breaches, even if running."""
    out: dict[str, dict[str, _Tally]] = defaultdict(lambda: defaultdict(_Tally))
    for r in records:
        if r.state == CANCELLED or not _in(r.created_at, since, until):
            continue
        for status in request_sla(r, goals_for(r.class_), now):
            for cycle in status.cycles:
                for key in (status.goal, "all goals"):
                    tally = out[r.class_][key]
                    if cycle.breached:
                        tally.breached += 1
                    elif cycle.met:
                        tally.met += 1
                    else:
                        tally.pending += 1
    return {
        cls: {goal: tally.as_dict() for goal, tally in sorted(goals.items())}
        for cls, goals in sorted(out.items())
    }


def backlog_aging(
    records: Iterable[RequestRecord], now: dt.datetime, days: int = 14
) -> dict[str, Any]:
    """Per class (and overall): open items, how many are older than `days`, and the share."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    limit = dt.timedelta(days=days)
    for r in records:
        if not r.is_open or r.created_at > now:
            continue
        aged = now - r.created_at > limit
        for key in ("all", r.class_):
            counts[key][0] += 1
            counts[key][1] += int(aged)
    keys = sorted(counts, key=lambda k: (k != "all", k))
    return {
        k: {
            "open": counts[k][0],
            f"older_than_{days}d": counts[k][1],
            "share_aged": round(counts[k][1] / counts[k][0], 4) if counts[k][0] else None,
        }
        for k in keys
    }


def template_reuse_rate(
    records: Iterable[RequestRecord], since: dt.datetime, until: dt.datetime
) -> dict[str, Any]:
    """Requests that started from a template / requests whose type offers templates."""
    eligible = used = 0
    for r in records:
        if r.templates_offered and _in(r.created_at, since, until):
            eligible += 1
            used += int(r.template is not None)
    return {"eligible": eligible, "used_template": used, "rate": _ratio(used, eligible)}


def self_serve_share(
    records: Iterable[RequestRecord], since: dt.datetime, until: dt.datetime
) -> dict[str, Any]:
    """Requests marketers completed themselves / all requests created in the period."""
    total = served = 0
    for r in records:
        if _in(r.created_at, since, until):
            total += 1
            served += int(r.self_serve)
    return {"requests": total, "self_serve": served, "share": _ratio(served, total)}


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


@dataclass(frozen=True)
class Period:
    since: dt.datetime
    until: dt.datetime
    now: dt.datetime


@dataclass
class MopsMetrics:
    period: Period
    time_to_campaign: dict[str, Any]
    sla_adherence: dict[str, Any]
    backlog_aging: dict[str, Any]
    template_reuse: dict[str, Any]
    self_serve: dict[str, Any]
    experiments: dict[str, Any] = field(default_factory=dict)
    journey_templates: dict[str, Any] = field(default_factory=dict)  # journeys copied from each

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": {
                "since": self.period.since.isoformat(),
                "until": self.period.until.isoformat(),
                "now": self.period.now.isoformat(),
            },
            "time_to_campaign": self.time_to_campaign,
            "sla_adherence": self.sla_adherence,
            "backlog_aging": self.backlog_aging,
            "template_reuse": self.template_reuse,
            "self_serve": self.self_serve,
            "experiments": self.experiments,
            "journey_templates": self.journey_templates,
        }


def mops_metrics(
    records: Sequence[RequestRecord],
    *,
    period: Period,
    calendar_for: Callable[[str], BusinessCalendar],
    goals_for: Callable[[str], Sequence[SlaGoal]],
    aging_days: int = 14,
    experiments: Mapping[str, Any] | None = None,
    journey_templates: Mapping[str, Any] | None = None,
) -> MopsMetrics:
    """All the request metrics for one period, in one pass per metric."""
    return MopsMetrics(
        period=period,
        time_to_campaign=time_to_campaign(records, calendar_for, period.since, period.until),
        sla_adherence=sla_adherence(records, goals_for, period.now, period.since, period.until),
        backlog_aging=backlog_aging(records, period.now, aging_days),
        template_reuse=template_reuse_rate(records, period.since, period.until),
        self_serve=self_serve_share(records, period.since, period.until),
        experiments=dict(experiments or {}),
        journey_templates=dict(journey_templates or {}),
    )
