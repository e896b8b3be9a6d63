"""Request use cases (create, list, show, move, pause, resume, metrics): the only intake code that
touches the store. Pure parts live in requests.py, states.py and metrics.py."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from marketops.errors import Conflict, MarketopsError, Problem
from marketops.ops.intake.config import RequestType
from marketops.ops.intake.metrics import (
    MopsMetrics,
    Period,
    RequestRecord,
    mops_metrics,
    request_sla,
)
from marketops.ops.intake.notify import enqueue_all, move_messages
from marketops.ops.intake.repo import apply_move, load_moves, load_request
from marketops.ops.intake.requests import NewRequest, check_new_request
from marketops.ops.intake.setup import intake_setup
from marketops.ops.intake.states import (
    LIVE,
    NEW,
    PAUSE_STATES,
    SCHEDULED,
    STATES,
    WAITING_ON_REQUESTER,
    allowed_moves,
)
from marketops.store.tables_intake import (
    intake_experiments,
    intake_launches,
    intake_request_events,
    intake_requests,
)

log = logging.getLogger(__name__)


def create_request(
    ctx: Any, new: NewRequest, *, now: dt.datetime, actor: str, idempotency_key: str | None = None
) -> tuple[dict[str, Any], bool]:
    """Store a new request; (the request, created?). A repeated idempotency key returns the
    first request instead of a second one."""
    setup = intake_setup(ctx.workspace)
    checked = check_new_request(setup.catalog, new)
    r = intake_requests
    found = None
    try:
        with ctx.engine.begin() as conn:
            if idempotency_key:
                existing = conn.execute(
                    select(r.c.id).where(r.c.idempotency_key == idempotency_key)
                )
                found = existing.scalar()
            if found is None:
                request_id = conn.execute(
                    r.insert()
                    .values(
                        type=checked.rtype.key,
                        title=checked.title,
                        description=checked.description,
                        requester=checked.requester,
                        channel=checked.channel,
                        self_serve=checked.self_serve,
                        template=checked.template,
                        inputs=checked.inputs,
                        priority_inputs=checked.priority_inputs,
                        priority=checked.priority,
                        state=NEW,
                        created_at=now,
                        updated_at=now,
                        idempotency_key=idempotency_key,
                        **{"class": checked.rtype.class_},
                    )
                    .returning(r.c.id)
                ).scalar_one()
                event_id = conn.execute(  # the creation move: from nothing to `new`
                    intake_request_events.insert()
                    .values(
                        request_id=request_id, at=now, from_state=None, to_state=NEW, actor=actor
                    )
                    .returning(intake_request_events.c.id)
                ).scalar_one()
                row = {
                    "id": request_id,
                    "title": checked.title,
                    "type": checked.rtype.key,
                    "class": checked.rtype.class_,
                    "requester": checked.requester,
                }
                enqueue_all(
                    conn,
                    move_messages(setup.catalog.notify, row, None, NEW, None, now, event_id),
                    now,
                )
    except IntegrityError:
        if not idempotency_key:
            raise
        with ctx.engine.connect() as conn:  # a concurrent retry with the same key won the race
            found = conn.execute(
                select(r.c.id).where(r.c.idempotency_key == idempotency_key)
            ).scalar_one()
    if found is not None:
        return request_view(ctx, found, now=now), False
    log.info("request %s created (type %s, channel %s)", request_id, checked.rtype.key, new.channel)
    return request_view(ctx, request_id, now=now), True


def request_record(setup: Any, row: dict[str, Any], moves: list[tuple]) -> RequestRecord:
    try:
        rtype = setup.catalog.request_type(row["type"])
        is_launch, offered = rtype.launch, bool(rtype.templates)
    except MarketopsError:  # a type removed from the catalog since: keep counting it
        is_launch, offered = False, row["template"] is not None
    return RequestRecord(
        id=row["id"],
        type=row["type"],
        class_=row["class"],
        state=row["state"],
        created_at=row["created_at"],
        moves=tuple(moves),
        is_launch=is_launch,
        live_at=row["live_at"],
        self_serve=row["self_serve"],
        template=row["template"],
        templates_offered=offered,
    )


def _sla_dict(status: Any) -> dict[str, Any]:
    return {
        "goal": status.goal,
        "target_hours": status.target.total_seconds() / 3600,
        "cycles": [
            {
                "index": c.index,
                "state": c.state,
                "started_at": c.started_at.isoformat(),
                "stopped_at": c.stopped_at.isoformat() if c.stopped_at else None,
                "elapsed_hours": round(c.elapsed.total_seconds() / 3600, 4),
                "remaining_hours": round(c.remaining.total_seconds() / 3600, 4),
                "breached": c.breached,
                "met": c.met,
                "breach_at": c.breach_at.isoformat() if c.breach_at else None,
            }
            for c in status.cycles
        ],
    }


def _row_out(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k not in ("class", "idempotency_key")}
    out["class"] = row["class"]
    for key in ("created_at", "updated_at", "live_at", "closed_at"):
        out[key] = row[key].isoformat() if row.get(key) else None
    return out


def request_view(ctx: Any, request_id: int, *, now: dt.datetime) -> dict[str, Any]:
    """A request with its moves, its SLA clocks as of `now`, its launches and next moves."""
    setup = intake_setup(ctx.workspace)
    ev = intake_request_events
    with ctx.engine.connect() as conn:
        row = load_request(conn, request_id)
        moves = load_moves(conn, [request_id]).get(request_id, [])
        events = conn.execute(
            select(ev.c.at, ev.c.from_state, ev.c.to_state, ev.c.actor, ev.c.note)
            .where(ev.c.request_id == request_id)
            .order_by(ev.c.at, ev.c.id)
        ).all()
        launches = conn.execute(
            select(
                intake_launches.c.id,
                intake_launches.c.state,
                intake_launches.c.train,
                intake_launches.c.launch_at,
            )
            .where(intake_launches.c.request_id == request_id)
            .order_by(intake_launches.c.id)
        ).all()
    record = request_record(setup, row, moves)
    out = _row_out(row)
    out["history"] = [
        {"at": at.isoformat(), "from": a, "to": b, "actor": actor, "note": note}
        for at, a, b, actor, note in events
    ]
    out["sla"] = [_sla_dict(s) for s in request_sla(record, setup.goals_for(row["class"]), now)]
    out["launches"] = [
        {"id": i, "state": s, "train": t, "launch_at": at.isoformat()} for i, s, t, at in launches
    ]
    out["next"] = allowed_moves(
        row["state"], is_launch=record.is_launch, paused_from=row["paused_from"]
    )
    return out


def list_requests(
    ctx: Any,
    *,
    state: str | None = None,
    class_: str | None = None,
    open_only: bool = False,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Requests by priority (highest first), then age."""
    r = intake_requests
    query = select(r).order_by(r.c.priority.desc(), r.c.created_at, r.c.id).limit(limit)
    if state:
        if state not in STATES:
            raise MarketopsError(
                f"unknown state {state!r}", [Problem("state", f"known: {', '.join(STATES)}")]
            )
        query = query.where(r.c.state == state)
    if class_:
        query = query.where(r.c["class"] == class_)
    if open_only:
        query = query.where(r.c.state.not_in(("done", "cancelled")))
    with ctx.engine.connect() as conn:
        return [_row_out(dict(m)) for m in conn.execute(query).mappings()]


def move_request(
    ctx: Any,
    request_id: int,
    to: str,
    *,
    actor: str,
    now: dt.datetime,
    note: str | None = None,
    override_reason: str | None = None,
    launch_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Move a request; a launch request moving to `scheduled` is booked on the next train with
    room (or at `launch_at`), and moving to `live` ships its launch through the pre-flight gate."""
    setup = intake_setup(ctx.workspace)
    if to not in STATES:
        raise MarketopsError(
            f"unknown state {to!r}", [Problem("to", f"known: {', '.join(STATES)}")]
        )
    with ctx.engine.connect() as conn:
        row = load_request(conn, request_id)
    try:
        rtype = setup.catalog.request_type(row["type"])
    except MarketopsError:  # the type left the catalog since: the request can still be worked
        rtype = RequestType(key=row["type"], name=row["type"], **{"class": row["class"]})
    allowed = allowed_moves(row["state"], is_launch=rtype.launch, paused_from=row["paused_from"])
    if to not in allowed:
        raise Conflict(
            f"request {request_id} cannot move from {row['state']} to {to}",
            [Problem("to", f"allowed from {row['state']}: {', '.join(allowed) or '(none)'}")],
        )
    if rtype.launch and to == LIVE:
        from marketops.ops.launches.usecases import ship_launch

        launch = _active_launch(ctx, request_id)
        ship_launch(ctx, launch, actor=actor, now=now, override_reason=override_reason)
        return request_view(ctx, request_id, now=now)
    if (
        rtype.launch
        and to == SCHEDULED
        and _active_launch(ctx, request_id, missing_ok=True) is None
    ):
        from marketops.ops.launches.service import NewLaunch
        from marketops.ops.launches.usecases import schedule_launch

        schedule_launch(
            ctx,
            NewLaunch(
                name=row["title"],
                request_id=request_id,
                duration=rtype.launch_duration,
                train=rtype.train,
                at=launch_at,
                override_reason=override_reason,
            ),
            actor=actor,
            now=now,
            move_note=note,
        )
        return request_view(ctx, request_id, now=now)
    with ctx.engine.begin() as conn:
        apply_move(
            conn,
            load_request(conn, request_id),
            to,
            actor=actor,
            now=now,
            note=note,
            notify=setup.catalog.notify,
        )
    return request_view(ctx, request_id, now=now)


def _active_launch(ctx: Any, request_id: int, *, missing_ok: bool = False) -> int | None:
    with ctx.engine.connect() as conn:
        found = conn.execute(
            select(intake_launches.c.id)
            .where(
                intake_launches.c.request_id == request_id, intake_launches.c.state == "scheduled"
            )
            .order_by(intake_launches.c.id.desc())
        ).scalar()
    if found is None and not missing_ok:
        raise Conflict(
            f"request {request_id} has no scheduled launch",
            [Problem("launch", "none scheduled", "move the request to scheduled first")],
        )
    return found


def pause_request(
    ctx: Any,
    request_id: int,
    *,
    actor: str,
    now: dt.datetime,
    reason: str = WAITING_ON_REQUESTER,
    note: str | None = None,
) -> dict[str, Any]:
    if reason not in PAUSE_STATES:
        raise MarketopsError(
            f"unknown pause state {reason!r}", [Problem("reason", f"use one of {PAUSE_STATES}")]
        )
    return move_request(ctx, request_id, reason, actor=actor, now=now, note=note)


def resume_request(
    ctx: Any, request_id: int, *, actor: str, now: dt.datetime, note: str | None = None
) -> dict[str, Any]:
    """Back to the working state the request paused from."""
    with ctx.engine.connect() as conn:
        row = load_request(conn, request_id)
    if row["state"] not in PAUSE_STATES or not row["paused_from"]:
        raise Conflict(
            f"request {request_id} is not paused",
            [Problem("state", f"it is {row['state']}", "pause it first")],
        )
    return move_request(ctx, request_id, row["paused_from"], actor=actor, now=now, note=note)


def log_experiment(
    ctx: Any,
    *,
    key: str,
    concluded_on: dt.date,
    required_per_arm: int,
    units_per_arm: list[int],
    direct_cost: Decimal,
    now: dt.datetime,
) -> None:
    """Record (or correct) a concluded experiment in the programme log used by the MOPS KPIs."""
    problems = []
    if not key.strip():
        problems.append(Problem("key", "is empty"))
    if required_per_arm <= 0:
        problems.append(Problem("required_per_arm", "must be positive"))
    if len(units_per_arm) < 2 or any(u < 0 for u in units_per_arm):
        problems.append(Problem("units_per_arm", "give at least two arms, each >= 0"))
    if direct_cost < 0:
        problems.append(Problem("direct_cost", "must not be negative"))
    if problems:
        raise MarketopsError("the experiment record has problems", problems)
    e = intake_experiments
    values = {
        "concluded_on": concluded_on,
        "required_per_arm": required_per_arm,
        "units_per_arm": list(units_per_arm),
        "direct_cost": direct_cost,
        "recorded_at": now,
    }
    with ctx.engine.begin() as conn:
        if conn.execute(select(func.count()).select_from(e).where(e.c.key == key)).scalar():
            conn.execute(e.update().where(e.c.key == key).values(**values))
        else:
            conn.execute(e.insert().values(key=key, **values))


def _experiment_kpis(
    ctx: Any, since: dt.datetime, until: dt.datetime, shared_cost: Decimal
) -> dict[str, Any]:
    from marketops.ops.experiments.kpis import (
        ExperimentRecord,
        cost_per_experiment,
        experiments_per_month_meeting_power,
    )

    e = intake_experiments
    with ctx.engine.connect() as conn:
        rows = (
            conn.execute(
                select(e).where(e.c.concluded_on >= since.date(), e.c.concluded_on < until.date())
            )
            .mappings()
            .all()
        )
    records = [
        ExperimentRecord(
            key=r["key"],
            concluded_on=r["concluded_on"],
            required_per_arm=r["required_per_arm"],
            units_per_arm=tuple(int(u) for u in r["units_per_arm"]),
            direct_cost=Decimal(r["direct_cost"]),
        )
        for r in rows
    ]
    all_cost = cost_per_experiment(records, shared_cost)
    powered_cost = cost_per_experiment(records, shared_cost, only_powered=True)
    return {
        "concluded": len(records),
        "meeting_power": sum(1 for r in records if r.meets_power),
        "per_month_meeting_power": experiments_per_month_meeting_power(records),
        "shared_cost": str(shared_cost),
        "cost_per_experiment": None if all_cost is None else str(all_cost),
        "cost_per_powered_experiment": None if powered_cost is None else str(powered_cost),
    }


def intake_metrics(
    ctx: Any,
    *,
    now: dt.datetime,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    shared_experiment_cost: Decimal = Decimal("0"),
) -> MopsMetrics:
    """The MOPS metrics for [since, until) (default: the 90 days before `now`)."""
    until = until or now
    since = since or until - dt.timedelta(days=90)
    if since >= until:
        raise MarketopsError(
            "the period is empty", [Problem("--since", f"{since} is not before {until}")]
        )
    setup = intake_setup(ctx.workspace)
    with ctx.engine.connect() as conn:
        rows = [dict(m) for m in conn.execute(select(intake_requests)).mappings()]
        moves = load_moves(conn)
    records = [request_record(setup, row, moves.get(row["id"], [])) for row in rows]
    return mops_metrics(
        records,
        period=Period(since=since, until=until, now=now),
        calendar_for=setup.calendar_for,
        goals_for=setup.goals_for,
        aging_days=setup.catalog.metrics.aging_days,
        experiments=_experiment_kpis(ctx, since, until, shared_experiment_cost),
        journey_templates=_journey_template_reuse(ctx),
    )


def _journey_template_reuse(ctx: Any) -> dict[str, Any]:
    """How many workspace journeys were copied from each built-in template."""
    from marketops.journeys.templates import reuse

    return reuse(ctx.workspace.root)
