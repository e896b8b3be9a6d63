"""Store each health run (the trend) and raise its alerts through the outbox, in one transaction.

A breach alert goes out once per run, dimension and target: the idempotency key is
`health:<run id>:<dimension>:<channel>:<destination>`. Payloads carry scores and field names only,
never values (they may be PII).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, desc, insert, select

from marketops.analytics.health.config import AlertTarget
from marketops.analytics.health.score import HealthReport
from marketops.errors import NotFound
from marketops.store.tables_health import health_runs, health_scores

WORST_FIELDS = 5


def alert_payload(report: HealthReport, dimension: str) -> dict[str, Any]:
    d = report.dimension(dimension)
    worst = sorted(
        (f for f in report.fields if f.dimension == dimension and f.score is not None),
        key=lambda f: (f.score, f.field),
    )[:WORST_FIELDS]
    return {
        "kind": "data_health_breach",
        "run_id": report.run_id,
        "source": report.source,
        "dimension": dimension,
        "score": d.score,
        "threshold": d.threshold,
        "rows": report.rows,
        "contract": f"{report.contract_id}@{report.contract_version}",
        "at": report.at.isoformat(),
        "worst": [{"field": f.field, "score": f.score, "failed": f.failed} for f in worst],
        "text": (
            f"Data health: {dimension} of {report.source} is {d.score:.2%},"
            f" below the contract's threshold {d.threshold:.2%}"
        ),
    }


def save_run(
    conn: Connection,
    report: HealthReport,
    targets: list[AlertTarget],
    *,
    now: datetime,
    duration_ms: int | None = None,
) -> int:
    """Insert the run and its scores; enqueue one alert per breached dimension and target.

    Call inside the caller's transaction so the run and its alerts commit together. Returns the
    number of alerts enqueued (duplicates of an existing key are not counted twice by the outbox).
    """
    from marketops.notify.outbox import enqueue

    run_id = conn.execute(
        insert(health_runs)
        .values(
            source=report.source,
            engine=report.engine,
            contract_id=report.contract_id,
            contract_version=report.contract_version,
            rows=report.rows,
            scores={d.dimension: d.score for d in report.dimensions},
            breaches=[
                {"dimension": d.dimension, "score": d.score, "threshold": d.threshold}
                for d in report.breaches
            ],
            notes=report.notes,
            at=report.at,
            duration_ms=duration_ms,
        )
        .returning(health_runs.c.id)
    ).scalar_one()
    report.run_id = run_id
    rows = [
        {
            "run_id": run_id,
            "dimension": d.dimension,
            "field": "*",
            "score": d.score,
            "checked": d.checked,
            "failed": d.failed,
            "details": {"threshold": d.threshold, "breached": d.breached},
        }
        for d in report.dimensions
    ] + [
        {
            "run_id": run_id,
            "dimension": f.dimension,
            "field": f.field,
            "score": f.score,
            "checked": f.checked,
            "failed": f.failed,
            "details": f.details,
        }
        for f in report.fields
    ]
    conn.execute(insert(health_scores), rows)
    sent = 0
    for d in report.breaches:
        payload = alert_payload(report, d.dimension)
        for t in targets:
            enqueue(
                conn,
                channel=t.channel,
                destination=t.destination,
                payload=payload,
                idempotency_key=f"health:{run_id}:{d.dimension}:{t.channel}:{t.destination}"[:200],
                now=now,
                subject=f"Data health breach: {d.dimension} of {report.source}",
            )
            sent += 1
    report.alerts = sent
    return sent


def history(conn: Connection, *, limit: int = 20, source: str | None = None) -> list[dict]:
    """The newest runs first, with their dimension scores: the trend."""
    q = select(health_runs).order_by(desc(health_runs.c.at), desc(health_runs.c.id)).limit(limit)
    if source is not None:
        q = q.where(health_runs.c.source == source)
    return [
        {
            "run_id": r.id,
            "at": r.at.isoformat(),
            "source": r.source,
            "engine": r.engine,
            "rows": r.rows,
            "contract": f"{r.contract_id}@{r.contract_version}",
            "scores": r.scores,
            "breaches": [b["dimension"] for b in r.breaches],
            "duration_ms": r.duration_ms,
        }
        for r in conn.execute(q)
    ]


def field_trend(
    conn: Connection, dimension: str, field: str, *, limit: int = 20, source: str | None = None
) -> list[dict]:
    """One field's score on one dimension across runs, newest first."""
    q = (
        select(health_runs.c.id, health_runs.c.at, health_scores.c.score, health_scores.c.failed)
        .join(health_scores, health_scores.c.run_id == health_runs.c.id)
        .where(health_scores.c.dimension == dimension, health_scores.c.field == field)
        .order_by(desc(health_runs.c.at), desc(health_runs.c.id))
        .limit(limit)
    )
    if source is not None:
        q = q.where(health_runs.c.source == source)
    return [
        {"run_id": r.id, "at": r.at.isoformat(), "score": r.score, "failed": r.failed}
        for r in conn.execute(q)
    ]


def load_run(conn: Connection, run_id: int) -> dict:
    run = conn.execute(select(health_runs).where(health_runs.c.id == run_id)).first()
    if run is None:
        raise NotFound(f"health run {run_id} not found")
    scores = conn.execute(
        select(health_scores).where(health_scores.c.run_id == run_id).order_by(health_scores.c.id)
    )
    return {
        "run_id": run.id,
        "at": run.at.isoformat(),
        "source": run.source,
        "engine": run.engine,
        "rows": run.rows,
        "contract": f"{run.contract_id}@{run.contract_version}",
        "scores": run.scores,
        "breaches": run.breaches,
        "notes": run.notes,
        "duration_ms": run.duration_ms,
        "fields": [
            {
                "dimension": s.dimension,
                "field": s.field,
                "score": s.score,
                "checked": s.checked,
                "failed": s.failed,
                "details": s.details,
            }
            for s in scores
        ],
    }
