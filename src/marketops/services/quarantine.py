"""Quarantine: inspect records the contract rejected, fix them, and replay them through the pipeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from marketops.errors import MarketopsError, NotFound, Problem
from marketops.pipeline.runner import Outcome, prepare
from marketops.services.capture import Batch, capture
from marketops.services.context import AppContext
from marketops.store.schema import quarantine


def list_records(ctx: AppContext, status: str = "open", limit: int = 50) -> list[dict[str, Any]]:
    q = select(quarantine).order_by(quarantine.c.id).limit(limit)
    if status != "all":
        q = q.where(quarantine.c.status == status)
    with ctx.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def reasons(ctx: AppContext) -> dict[str, int]:
    """Open records by `field: rule`, for summaries."""
    out: dict[str, int] = {}
    for rec in list_records(ctx, "open", limit=1_000_000):
        for e in rec["errors"]:
            key = f"{e['field']}: {e['rule']}"
            out[key] = out.get(key, 0) + 1
    return out


def show(ctx: AppContext, record_id: int) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        row = conn.execute(select(quarantine).where(quarantine.c.id == record_id)).first()
    if row is None:
        raise NotFound(f"no quarantined record with id {record_id}")
    return dict(row._mapping)


def parse_sets(sets: list[str]) -> dict[str, Any]:
    out = {}
    for s in sets:
        field, sep, value = s.partition("=")
        if not sep or not field.strip():
            raise MarketopsError(
                "bad --set",
                [
                    Problem(
                        "--set", f"{s!r} is not FIELD=VALUE", "e.g. --set email=jane@example.com"
                    )
                ],
            )
        out[field.strip()] = value if value != "" else None
    return out


def replay(
    ctx: AppContext,
    now: datetime,
    ids: list[int] | None = None,
    fixes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Re-run open records (all, or `ids`) with optional field fixes.

    Records that now pass are captured and marked replayed (with their lead id) in the same
    transaction; records that still fail stay open with their current reasons.
    """
    with ctx.engine.connect() as conn:
        q = select(quarantine).where(quarantine.c.status == "open").order_by(quarantine.c.id)
        if ids:
            q = q.where(quarantine.c.id.in_(ids))
        records = [dict(r._mapping) for r in conn.execute(q)]
    if ids:
        missing = set(ids) - {r["id"] for r in records}
        if missing:
            raise NotFound(f"not open in quarantine: {sorted(missing)}")
    if fixes and len(records) != 1:
        raise MarketopsError(
            "fixes need exactly one record",
            [Problem("--set", "field fixes apply to a single record", "pass one ID with --set")],
        )
    passing, still_failing = [], []
    for rec in records:
        payload = {**rec["payload"], **(fixes or {})}
        if "_raw" in payload:
            still_failing.append((rec, payload, rec["errors"]))
            continue
        p = prepare(payload, ctx.config, now)
        if p.lead is None:
            still_failing.append((rec, payload, [i.as_dict() for i in p.issues]))
        else:
            passing.append((rec, payload, p))

    def mark(conn: Any, outcomes: list[Outcome]) -> None:
        for (rec, payload, _), o in zip(passing, outcomes, strict=True):
            conn.execute(
                update(quarantine)
                .where(quarantine.c.id == rec["id"])
                .values(status="replayed", lead_id=o.lead_id, payload=payload, resolved_at=now)
            )

    if passing:
        capture(
            ctx,
            Batch(
                [p for _, p, _ in passing],
                "quarantine-replay",
                [f"quarantine:{r['id']}" for r, _, _ in passing],
                [r["row_number"] for r, _, _ in passing],
            ),
            now,
            prepared=[p for _, _, p in passing],
            extra_writes=mark,
        )
    with ctx.engine.begin() as conn:
        for rec, payload, errors in still_failing:
            conn.execute(
                update(quarantine)
                .where(quarantine.c.id == rec["id"])
                .values(errors=errors, payload=payload)
            )
    return {
        "replayed": [r["id"] for r, _, _ in passing],
        "still_failing": {r["id"]: e for r, _, e in still_failing},
    }


def discard(ctx: AppContext, record_id: int, now: datetime) -> None:
    with ctx.engine.begin() as conn:
        n = conn.execute(
            update(quarantine)
            .where(quarantine.c.id == record_id, quarantine.c.status == "open")
            .values(status="discarded", resolved_at=now)
        ).rowcount
    if not n:
        raise NotFound(f"no open quarantined record with id {record_id}")


def open_count(ctx: AppContext) -> int:
    with ctx.engine.connect() as conn:
        return (
            conn.scalar(
                select(func.count()).select_from(quarantine).where(quarantine.c.status == "open")
            )
            or 0
        )
