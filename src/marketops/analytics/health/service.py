"""Use cases: score the store or a file, store the run, raise alerts; read the trend back.

The only I/O of data health happens here; `checks` and `score` are handed a table and `now`.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

from marketops.analytics.health.checks import build_plan, evaluate
from marketops.analytics.health.config import HEALTH_FILE, HealthConfig
from marketops.analytics.health.runs import field_trend, history, load_run, save_run
from marketops.analytics.health.score import HealthReport, score
from marketops.analytics.health.sources import STORE_COLUMNS, Source, open_file, open_store
from marketops.analytics.health.spec import HealthSpec, spec_from_workspace


def health_config(ws: Any) -> HealthConfig:
    return ws.extra(HEALTH_FILE)


def score_source(src: Source, spec: HealthSpec, cfg: HealthConfig, now: datetime) -> HealthReport:
    """Plan, run and score one source (pure apart from the engine it is handed)."""
    ts = cfg.timestamp_field or src.default_ts
    plan = build_plan(
        src.table,
        spec,
        now=now,
        ts_field=ts,
        max_age_days=cfg.max_age_days,
        outside=src.outside,
        con=src.con,
    )
    return score(plan, evaluate(plan), spec, source=src.name, engine=src.engine, now=now)


def run_health(
    ctx: Any,
    now: datetime,
    *,
    file: Path | None = None,
    engine_url: str | None = None,
    save: bool = True,
) -> HealthReport:
    """Score the store's leads (or `file`) against the contract; store the run and its alerts."""
    ws = ctx.workspace
    spec = spec_from_workspace(ws)
    cfg = health_config(ws)
    started = time.perf_counter()
    if file is not None:
        src = open_file(file)
    else:
        outside = frozenset(f.name for f in spec.fields if f.name not in STORE_COLUMNS)
        src = open_store(ctx.engine, outside, engine_url)
    try:
        report = score_source(src, spec, cfg, now)
    finally:
        src.close()
    duration_ms = int(1000 * (time.perf_counter() - started))
    if report.breaches and not cfg.alerts:
        report.notes.append("thresholds breached but health.yml has no alert targets")
    if save:
        with ctx.engine.begin() as conn:
            save_run(conn, report, cfg.alerts, now=now, duration_ms=duration_ms)
    return report


def run_history(
    ctx: Any,
    *,
    limit: int | None = None,
    source: str | None = None,
    dimension: str | None = None,
    field: str | None = None,
) -> list[dict]:
    """Runs newest first; with `dimension` and `field`, that one field's trend."""
    limit = limit or health_config(ctx.workspace).history_limit
    with ctx.engine.connect() as conn:
        if dimension and field:
            return field_trend(conn, dimension, field, limit=limit, source=source)
        return history(conn, limit=limit, source=source)


def get_run(ctx: Any, run_id: int) -> dict:
    with ctx.engine.connect() as conn:
        return load_run(conn, run_id)
