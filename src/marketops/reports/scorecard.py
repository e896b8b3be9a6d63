"""The weekly scorecard: one self-contained HTML file (inline CSS, inline SVG charts, no scripts).

It is built from the dashboard's page views, so the mailed numbers and the dashboard's are the same
computation. `build_scorecard` reads the store; `scorecard_period` is the pure scheduling rule.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape

from marketops.reports.charts import CHART_CSS
from marketops.reports.config import FILENAME, WEEKDAYS, ReportsFile, ScorecardSchedule

TEMPLATES = Path(__file__).parent / "templates"


def schedule(ctx: Any) -> ScorecardSchedule:
    model: ReportsFile = ctx.workspace.extra(FILENAME)
    return model.scorecard


def scorecard_period(now: datetime, sched: ScorecardSchedule, default_zone: str) -> str | None:
    """The ISO week ("2026-W48") whose scorecard is due at `now`, or None before this week's send.

    Due from the scheduled weekday/hour (local time) until the end of that ISO week, so a worker
    that was down at the send time catches up when it comes back, and never sends twice (the
    period is the idempotency key).
    """
    zone = ZoneInfo(sched.timezone or default_zone)
    local = now.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    send_day = monday + timedelta(days=WEEKDAYS.index(sched.weekday))
    send_at = datetime(send_day.year, send_day.month, send_day.day, sched.hour, tzinfo=zone)
    if local < send_at:
        return None
    year, week, _ = local.isocalendar()
    return f"{year}-W{week:02d}"


def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True
    )


def build_scorecard(ctx: Any, now: datetime, *, weeks: int | None = None) -> str:
    """Render the scorecard as of `now`."""
    from marketops.reports import metrics
    from marketops.web import pages

    sched = schedule(ctx)
    ov = metrics.pipeline_overview(ctx, now, weeks or sched.weeks)
    sections: dict[str, Any] = {"overview": pages.overview(ctx, now, ov=ov)}
    this_week = ov.mqls_per_week[-1][1] if ov.mqls_per_week else 0
    last_week = ov.mqls_per_week[-2][1] if len(ov.mqls_per_week) > 1 else 0
    for key, fn in (
        ("attribution", pages.attribution),
        ("health", pages.health),
        ("slas", pages.slas),
        ("routing", pages.routing),
        ("backlog", pages.backlog),
        ("quarantine", pages.quarantine),
        ("stack", pages.stack),
    ):
        sections[key] = fn(ctx, now)
    week_start: date = metrics.week_start(now.date())
    return (
        _env()
        .get_template("scorecard.html")
        .render(
            title=f"Marketing scorecard · week of {week_start:%d %b %Y}",
            workspace=ctx.workspace.settings.name,
            now=now,
            ov=ov,
            this_week=this_week,
            last_week=last_week,
            s=sections,
            ok={k: not _missing(v) for k, v in sections.items()},
            missing=[m.title for v in sections.values() if (m := _missing(v))],
            css=CHART_CSS,
        )
    )


def _missing(view: Any) -> Any:
    """The Unavailable notice of a page view (the backlog carries it beside its trains)."""
    from marketops.web.pages import Unavailable

    if isinstance(view, Unavailable):
        return view
    return view.get("intake") if isinstance(view, dict) else None


def plain_text(ctx: Any, now: datetime) -> str:
    """The headline numbers as text, for mail clients that do not show HTML."""
    from marketops.reports import metrics

    ov = metrics.pipeline_overview(ctx, now)
    v = ov.velocity
    lines = [f"Marketing scorecard, {now:%Y-%m-%d}", f"Leads: {ov.total_leads:,}"]
    lines += [f"  {s.stage}: {s.reached:,}" for s in ov.funnel]
    lines.append(f"MQLs this week: {ov.mqls_per_week[-1][1]:,}")
    lvr = "n/a" if v.rate_pct is None else f"{v.rate_pct:+.1f}%"
    lines.append(f"Lead velocity rate ({v.month:%b %Y} vs {v.previous_month:%b %Y}): {lvr}")
    return "\n".join(lines) + "\n"
