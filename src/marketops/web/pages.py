"""What each dashboard page shows: plain functions from the context and `now` to a view dict.

Every number comes from the function the CLI uses (attribution service, stack audit, release
calendar, quarantine service, reports.metrics); nothing is computed a second time here. A page
whose capability is not installed or not configured returns an `Unavailable` instead of failing.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from markupsafe import Markup

from marketops.errors import MarketopsError
from marketops.reports import charts, metrics


@dataclass(frozen=True)
class Unavailable:
    title: str
    message: str
    hint: str = ""


PAGES = (
    ("overview", "Pipeline", "/dashboard"),
    ("attribution", "Attribution", "/dashboard/attribution"),
    ("health", "Data health", "/dashboard/health"),
    ("slas", "SLAs", "/dashboard/slas"),
    ("routing", "Routing", "/dashboard/routing"),
    ("backlog", "Requests", "/dashboard/backlog"),
    ("quarantine", "Quarantine", "/dashboard/quarantine"),
    ("journeys", "Journeys", "/dashboard/journeys"),
    ("stack", "Stack", "/dashboard/stack"),
)


def _pct(x: float | None, digits: int = 0) -> str:
    return "–" if x is None else f"{x * 100:.{digits}f}%"


def has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


# --- pipeline overview ---------------------------------------------------------------------------
def overview(ctx: Any, now: datetime, ov: metrics.PipelineOverview | None = None) -> dict[str, Any]:
    from marketops.services.quarantine import open_count

    ov = ov or metrics.pipeline_overview(ctx, now)
    f = ov.funnel
    funnel_svg = charts.hbar(
        [(s.stage, s.reached) for s in f],
        "Funnel: leads that reached each stage",
        notes=[
            "" if s.rate is None else f"{_pct(s.rate, 1)} of {f[i - 1].stage}"
            for i, s in enumerate(f)
        ],
    )
    weeks = charts.vbar(
        [(d.strftime("%d %b"), n) for d, n in ov.mqls_per_week],
        "MQLs per week (weeks from Monday, UTC)",
    )
    months = charts.vbar(
        [(d.strftime("%b %Y"), n) for d, n in ov.mqls_per_month],
        "MQLs per month",
        color=charts.PALETTE[2],
    )
    return {
        "ov": ov,
        "funnel_chart": Markup(funnel_svg),
        "weeks_chart": Markup(weeks),
        "months_chart": Markup(months),
        "open_quarantine": open_count(ctx),
        "pct": _pct,
    }


# --- attribution ---------------------------------------------------------------------------------
def attribution(ctx: Any, now: datetime) -> dict[str, Any] | Unavailable:
    from marketops.analytics.attribution.service import attribute_files

    cfg = ctx.workspace.extra("attribution.yml")
    src = cfg.sources
    if not (src.touchpoints and src.conversions):
        return Unavailable(
            "Attribution is not configured",
            "attribution.yml names no touchpoints and conversions files.",
            "Set sources.touchpoints and sources.conversions in attribution.yml (docs/attribution.md).",
        )
    root = ctx.workspace.root
    files = [root / p for p in (src.touchpoints, src.conversions, src.costs) if p]
    try:
        result = _cached_attribution(files, cfg, now, attribute_files)
    except MarketopsError as exc:
        return Unavailable("Attribution could not run", str(exc), "Fix the files named above.")
    groups = result.groups()
    series = [
        (m, [(c.conversions if (c := result.get(g, m)) else 0.0) for g in groups])
        for m in result.models
    ]
    chart = charts.grouped(groups, series, f"Conversions credited per {result.by}, by model")
    rows = [{"group": g, "cells": [result.get(g, m) for m in result.models]} for g in groups]
    return {
        "result": result,
        "chart": Markup(chart),
        "rows": rows,
        "pct": _pct,
    }


_ATTRIBUTION_CACHE: dict[tuple, tuple[float, Any]] = {}
ATTRIBUTION_TTL_S = 60.0


def _cached_attribution(files: list[Any], cfg: Any, now: datetime, run: Any) -> Any:
    """Running every model takes seconds; page views within a minute over unchanged files and
    settings share one result (the files' size and mtime are part of the key)."""
    import time

    stamp = tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.exists())
    key = (stamp, cfg.model_dump_json(), now.strftime("%Y-%m-%dT%H"))
    hit = _ATTRIBUTION_CACHE.get(key)
    if hit is not None and time.monotonic() - hit[0] < ATTRIBUTION_TTL_S:
        return hit[1]
    costs = files[2] if len(files) > 2 else None
    result = run(files[0], files[1], costs, cfg, now)
    if len(_ATTRIBUTION_CACHE) > 16:
        _ATTRIBUTION_CACHE.clear()
    _ATTRIBUTION_CACHE[key] = (time.monotonic(), result)
    return result


# --- data health ---------------------------------------------------------------------------------
def health(ctx: Any, now: datetime) -> dict[str, Any] | Unavailable:
    if not has_module("marketops.analytics.health"):
        return Unavailable(
            "Data health is not available yet",
            "This installation has no data-health module (marketops.analytics.health).",
            "Upgrade marketops; then `marketops health` scores the store and this page shows it.",
        )
    return _health_view(ctx, now)


def _health_view(ctx: Any, now: datetime) -> dict[str, Any] | Unavailable:
    """The stored runs of `marketops health` (the page reads them; it never re-scores on load)."""
    from marketops.analytics.health import DIMENSIONS
    from marketops.analytics.health.service import get_run, run_history

    runs = run_history(ctx, source="store") or run_history(ctx)
    if not runs:
        return Unavailable(
            "No data-health run yet",
            "Data health is scored by `marketops health` (or its scheduled run); none is stored.",
            "Run `marketops health` once; each run adds a point to the trend here.",
        )
    latest = get_run(ctx, runs[0]["run_id"])
    dims = [(d, latest["scores"].get(d)) for d in DIMENSIONS]
    thresholds = {
        f["dimension"]: (f["details"] or {}).get("threshold")
        for f in latest["fields"]
        if f["field"] == "*"
    }
    worst = sorted(
        (
            f
            for f in latest["fields"]
            if f["field"] != "*" and f["score"] is not None and f["failed"]
        ),
        key=lambda f: (f["score"], -f["failed"]),
    )[:10]
    chrono = list(reversed(runs))
    trend = charts.line(
        [(d, [r["scores"].get(d) for r in chrono]) for d in DIMENSIONS],
        [r["at"][5:16].replace("T", " ") for r in chrono],
        "Dimension scores per run (1.0 = healthy)",
        y_max=1.0,
        fmt=lambda v: f"{v:.0%}",
    )
    return {
        "latest": latest,
        "dims": dims,
        "thresholds": thresholds,
        "breached": {b["dimension"] for b in latest["breaches"]},
        "dims_chart": Markup(
            charts.hbar(
                [(d, (v or 0.0) * 100) for d, v in dims],
                "Latest run: score per dimension",
                fmt=lambda v: f"{v:.1f}%",
                notes=[
                    ""
                    if thresholds.get(d) is None
                    else f"threshold {thresholds[d] * 100:.0f}%"
                    + (" BREACHED" if d in {b["dimension"] for b in latest["breaches"]} else "")
                    for d, _ in dims
                ],
            )
        ),
        "trend_chart": Markup(trend),
        "worst": worst,
        "pct": _pct,
    }


# --- SLAs ----------------------------------------------------------------------------------------
def slas(ctx: Any, now: datetime) -> dict[str, Any] | Unavailable:
    if not has_module("marketops.store.tables_lifecycle"):
        return Unavailable(
            "Lifecycle SLAs are not available yet",
            "This installation has no SLA timers (marketops.lifecycle).",
            "Upgrade marketops and declare SLAs per stage; then leads at risk and breaches show here.",
        )
    if not ctx.workspace.lifecycle.slas:
        return Unavailable(
            "No lifecycle SLAs declared",
            "lifecycle.yml has no `slas:`.",
            "Declare them (docs/lifecycle.md); the worker then starts a clock per lead.",
        )
    ov = metrics.sla_overview(ctx, now)
    owners = ov.by_owner[:15]
    return {
        "ov": ov,
        "owners_chart": Markup(
            charts.hbar(
                [(o.owner, o.breached) for o in owners],
                f"Deadlines breached per owner, last {ov.window_days} days",
                notes=[f"{o.met} met · adherence {_pct(o.adherence)}" for o in owners],
            )
        ),
        "left": _left,
    }


def _left(seconds: float) -> str:
    m = int(abs(seconds) // 60)
    text = f"{m // 60}h {m % 60:02d}m"
    return f"overdue {text}" if seconds < 0 else text


# --- journeys and segments --------------------------------------------------------------------
def journeys(ctx: Any, now: datetime) -> dict[str, Any] | Unavailable:
    """Each journey's state and where its people are; each segment's and list's members (the
    numbers `journey list|status` and `segment list` print)."""
    if not has_module("marketops.journeys"):
        return Unavailable("Journeys are not installed", "This build has no journeys module.")
    from marketops.journeys import service as journey_service
    from marketops.segments import service as segment_service

    rows = journey_service.list_journeys(ctx)
    for j in rows:
        j["people"] = journey_service.status(ctx, j["name"])["enrolments"] if j["version"] else {}
    try:
        segments = segment_service.list_segments(ctx)
        segments_problem = None
    except MarketopsError as exc:  # segments.yml does not load: say so, show the journeys
        segments, segments_problem = [], str(exc).splitlines()[0]
    return {"journeys": rows, "segments": segments, "segments_problem": segments_problem}


# --- routing -------------------------------------------------------------------------------------
def routing(ctx: Any, now: datetime) -> dict[str, Any]:
    loads = metrics.assignments(ctx)
    queues = []
    for q in loads:
        items = [(m.member, m.leads) for m in q.members] + list(q.other_owners.items())
        notes = [f"{_pct(m.share)} (weight share {_pct(m.target_share)})" for m in q.members] + [
            "not a member" if k != "(unassigned)" else "" for k in q.other_owners
        ]
        queues.append(
            {
                "load": q,
                "chart": Markup(
                    charts.hbar(items, f"Queue {q.queue}: leads per member", notes=notes)
                )
                if items
                else None,
            }
        )
    return {
        "queues": queues,
        "totals_chart": Markup(charts.hbar([(q.queue, q.leads) for q in loads], "Leads per queue")),
    }


# --- request backlog -----------------------------------------------------------------------------
def _bookings(ctx: Any, now: datetime) -> list[Any]:
    """Launches already booked on trains (the launches capability), so free seats are right."""
    try:
        from marketops.ops.launches.service import _existing_bookings
    except ImportError:
        return []
    with ctx.engine.connect() as conn:
        return _existing_bookings(conn, now - timedelta(days=1))


def backlog(ctx: Any, now: datetime) -> dict[str, Any]:
    from marketops.ops.releases import load_releases

    trains: list[Any] = []
    trains_problem = None
    try:
        cal = load_releases(ctx.workspace.root)
        tz = cal.model.timezone
        trains = cal.upcoming_trains(now, _bookings(ctx, now), count=5) if cal.trains else []
    except MarketopsError as exc:
        trains_problem, tz = str(exc), "UTC"
    out: dict[str, Any] = {"trains": trains, "tz": tz, "trains_problem": trains_problem}
    if not has_module("marketops.ops.intake.service"):
        out["intake"] = Unavailable(
            "Request intake is not available yet",
            "This installation has no request intake (marketops.ops.intake).",
            "Upgrade marketops; backlog aging and SLA adherence then show here.",
        )
        return out
    from marketops.ops.intake.service import intake_metrics, list_requests

    try:
        m = intake_metrics(ctx, now=now)
        requests = list_requests(ctx, open_only=True, limit=25)
    except MarketopsError as exc:
        out["intake"] = Unavailable(
            "Request intake is not configured", str(exc), "See docs/intake.md."
        )
        return out
    aging = m.backlog_aging
    aged_key = next((k for k in next(iter(aging.values()), {}) if k.startswith("older_than")), "")
    classes = [k for k in aging if k != "all"]
    adherence = [
        (cls, goals["all goals"]["adherence"])
        for cls, goals in m.sla_adherence.items()
        if "all goals" in goals
    ]
    for r in requests:
        r["age_days"] = (now - datetime.fromisoformat(r["created_at"])).days
    out.update(
        metrics=m,
        requests=requests,
        aging=aging,
        aged_key=aged_key,
        aging_chart=Markup(
            charts.hbar(
                [(c, aging[c]["open"]) for c in classes],
                "Open requests per class",
                notes=[
                    f"{_pct(aging[c]['share_aged'])} {aged_key.replace('_', ' ')}" for c in classes
                ],
            )
        ),
        adherence_chart=Markup(
            charts.hbar(
                [(c, (a or 0.0) * 100) for c, a in adherence],
                "SLA adherence per class (met / decided cycles)",
                fmt=lambda v: f"{v:.0f}%",
                notes=["no decided cycle yet" if a is None else "" for _, a in adherence],
            )
        ),
        pct=_pct,
    )
    return out


# --- quarantine ----------------------------------------------------------------------------------
def quarantine(ctx: Any, now: datetime, limit: int = 100) -> dict[str, Any]:
    from marketops.services import quarantine as q

    records = q.list_records(ctx, "open", limit=limit)
    reasons = sorted(q.reasons(ctx).items(), key=lambda kv: (-kv[1], kv[0]))
    return {
        "records": records,
        "open": q.open_count(ctx),
        "reasons_chart": Markup(charts.hbar(reasons[:12], "Open records by reason (field: rule)")),
    }


# --- stack audit ---------------------------------------------------------------------------------
def stack(ctx: Any, now: datetime) -> dict[str, Any] | Unavailable:
    from marketops.ops.stack import audit_stack
    from marketops.ops.stack.config import FILENAME

    if not ctx.workspace.path(FILENAME).exists():
        return Unavailable(
            "No tool stack declared",
            f"The workspace has no {FILENAME}.",
            "Copy the example from `marketops init` (docs/stack-audit.md).",
        )
    result = audit_stack(ctx.workspace.extra(FILENAME), now.date())
    cur = result.currency

    def money(x: float) -> str:
        return f"{x:,.0f} {cur}"

    waste = sorted(
        ((t.name, float(t.waste)) for t in result.tools if t.waste), key=lambda kv: -kv[1]
    )
    util = [
        (t.name, float(t.utilization) * 100)
        for t in sorted(result.tools, key=lambda t: (t.utilization is None, t.utilization or 0))
        if t.utilization is not None
    ]
    return {
        "result": result,
        "waste_chart": Markup(
            charts.hbar(waste, f"Yearly waste on unused seats ({cur})", fmt=money)
        ),
        "util_chart": Markup(
            charts.hbar(util, "Seat utilization (% of seats active)", fmt=lambda v: f"{v:.0f}%")
        ),
        "pct": _pct,
    }
