"""Journey use cases for the CLI and the API: list, show, status, pause/resume/stop, events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from marketops.errors import MarketopsError, NotFound, Problem
from marketops.journeys.loader import journey_names, load_journey
from marketops.journeys.versions import require_state, state, versions
from marketops.store.schema import leads
from marketops.store.tables_journeys import (
    journey_enrolments,
    journey_events,
    journey_states,
    journey_step_runs,
)


def list_journeys(ctx: Any) -> list[dict[str, Any]]:
    """Every journey file, with its published state and how many people are inside."""
    with ctx.engine.connect() as conn:
        states = {r.journey: r for r in conn.execute(select(journey_states))}
        active = dict(
            conn.execute(
                select(journey_enrolments.c.journey, func.count())
                .where(journey_enrolments.c.status == "active")
                .group_by(journey_enrolments.c.journey)
            ).all()
        )
    out = []
    for name in sorted(set(journey_names(ctx.workspace.root)) | set(states)):
        st = states.get(name)
        try:
            j, _ = load_journey(ctx.workspace.root, name)
            entry, template, problem = j.entry.kind, j.from_template, None
        except MarketopsError as exc:
            entry, template, problem = None, None, str(exc).splitlines()[0]
        out.append(
            {
                "name": name,
                "status": st.status if st else "draft",
                "version": st.version if st else None,
                "entry": entry,
                "from_template": template,
                "active": int(active.get(name, 0)),
                "problem": problem,
            }
        )
    return out


def show(ctx: Any, name: str) -> dict[str, Any]:
    """The workspace file (parsed), its published versions, and whether the file has changes."""
    from marketops.journeys.loader import content_hash
    from marketops.store.tables_journeys import journey_versions

    journey, source = load_journey(ctx.workspace.root, name)
    with ctx.engine.connect() as conn:
        st = state(conn, name)
        vs = versions(conn, name)
        latest = conn.execute(
            select(journey_versions.c.content_hash)
            .where(journey_versions.c.journey == name)
            .order_by(journey_versions.c.version.desc())
            .limit(1)
        ).scalar()
    return {
        "name": name,
        "status": st.status if st else "draft",
        "version": st.version if st else None,
        "unpublished_changes": latest != content_hash(journey),
        "definition": journey.model_dump(mode="json", by_alias=True, exclude_none=True),
        "versions": vs,
        "source": source,
    }


def status(ctx: Any, name: str) -> dict[str, Any]:
    """Who is where: enrolments by status, people per step, step outcomes, goals reached."""
    with ctx.engine.connect() as conn:
        st = require_state(conn, name)
        by_status = dict(
            conn.execute(
                select(journey_enrolments.c.status, func.count())
                .where(journey_enrolments.c.journey == name)
                .group_by(journey_enrolments.c.status)
            ).all()
        )
        at_step = [
            {"version": v, "step": s, "people": int(n)}
            for v, s, n in conn.execute(
                select(journey_enrolments.c.version, journey_enrolments.c.step, func.count())
                .where(
                    journey_enrolments.c.journey == name, journey_enrolments.c.status == "active"
                )
                .group_by(journey_enrolments.c.version, journey_enrolments.c.step)
                .order_by(journey_enrolments.c.version, journey_enrolments.c.step)
            )
        ]
        steps = [
            {"step": s, "outcome": o, "count": int(n)}
            for s, o, n in conn.execute(
                select(journey_step_runs.c.step, journey_step_runs.c.outcome, func.count())
                .where(journey_step_runs.c.journey == name)
                .group_by(journey_step_runs.c.step, journey_step_runs.c.outcome)
                .order_by(journey_step_runs.c.step, journey_step_runs.c.outcome)
            )
        ]
        goals = dict(
            conn.execute(
                select(journey_enrolments.c.goal, func.count())
                .where(journey_enrolments.c.journey == name, journey_enrolments.c.goal.is_not(None))
                .group_by(journey_enrolments.c.goal)
            ).all()
        )
        next_due = conn.execute(
            select(func.min(journey_enrolments.c.due_at)).where(
                journey_enrolments.c.journey == name, journey_enrolments.c.status == "active"
            )
        ).scalar()
    return {
        "name": name,
        "status": st.status,
        "reason": st.reason,
        "version": st.version,
        "enrolments": {k: int(v) for k, v in by_status.items()},
        "at_step": at_step,
        "steps": steps,
        "goals": {k: int(v) for k, v in goals.items()},
        "next_due": next_due,
    }


def _set_status(
    ctx: Any, name: str, new: str, allowed: tuple[str, ...], now: datetime, reason: str | None
) -> dict[str, Any]:
    with ctx.engine.begin() as conn:
        st = require_state(conn, name)
        if st.status == new:
            return {"journey": name, "status": new, "changed": False, "ended": 0}
        if st.status not in allowed:
            raise MarketopsError(
                f"journey {name!r} is {st.status}",
                [
                    Problem(
                        name,
                        f"cannot go from {st.status} to {new}",
                        "see `marketops journey status`",
                    )
                ],
            )
        conn.execute(
            update(journey_states)
            .where(journey_states.c.journey == name)
            .values(status=new, reason=reason, updated_at=now)
        )
        ended = 0
        if st.status == "stopped":  # restarting: what happened while stopped enters nobody
            from marketops.journeys.triggers import restart_cursor
            from marketops.journeys.versions import definition

            restart_cursor(conn, name, definition(conn, name, st.version))
        if new == "stopped":
            ended = conn.execute(
                update(journey_enrolments)
                .where(
                    journey_enrolments.c.journey == name, journey_enrolments.c.status == "active"
                )
                .values(
                    status="stopped",
                    due_at=None,
                    exited_at=now,
                    exit_reason=f"journey stopped: {reason or 'no reason given'}"[:500],
                    updated_at=now,
                )
            ).rowcount
    return {"journey": name, "status": new, "changed": True, "ended": int(ended)}


def pause(ctx: Any, name: str, *, now: datetime, reason: str | None = None) -> dict[str, Any]:
    """Timers keep their due times and fire on resume; nobody enters meanwhile (entries wait)."""
    return _set_status(ctx, name, "paused", ("active",), now, reason)


def resume(ctx: Any, name: str, *, now: datetime) -> dict[str, Any]:
    """A paused journey catches up (timers and entries); a stopped one starts afresh."""
    return _set_status(ctx, name, "active", ("paused", "stopped"), now, None)


def stop(ctx: Any, name: str, *, now: datetime, reason: str | None = None) -> dict[str, Any]:
    """End every enrolment with the reason; the journey takes no one until published again."""
    return _set_status(ctx, name, "stopped", ("active", "paused"), now, reason)


def retry_failed(ctx: Any, name: str, *, now: datetime) -> int:
    """Put people whose step failed back on that step, due now."""
    with ctx.engine.begin() as conn:
        require_state(conn, name)
        return conn.execute(
            update(journey_enrolments)
            .where(journey_enrolments.c.journey == name, journey_enrolments.c.status == "failed")
            .values(status="active", due_at=now, exit_reason=None, updated_at=now)
        ).rowcount


def post_event(
    ctx: Any,
    name: str,
    *,
    lead_id: str,
    event: str,
    now: datetime,
    key: str | None = None,
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An API event for a journey: an entry (if the journey's trigger is this event) or the end
    of a `wait: {event: …}`. A repeated idempotency key is a no-op."""
    problems = []
    if not event or len(event) > 200:
        problems.append(Problem("event", "must be 1-200 characters"))
    if not lead_id:
        problems.append(Problem("lead_id", "missing"))
    if problems:
        raise MarketopsError("bad journey event", problems)
    with ctx.engine.begin() as conn:
        require_state(conn, name)
        if conn.execute(select(leads.c.id).where(leads.c.id == lead_id)).scalar() is None:
            raise NotFound(f"no lead with id {lead_id}")
        ikey = f"{name}:{key}" if key else f"{name}:{lead_id}:{event}:{now.isoformat()}"
        prior = conn.execute(
            select(journey_events.c.id).where(journey_events.c.idempotency_key == ikey[:200])
        ).scalar()
        if prior is not None:
            return {
                "id": prior,
                "journey": name,
                "lead_id": lead_id,
                "event": event,
                "replayed": True,
            }
        eid = conn.execute(
            insert(journey_events)
            .values(
                journey=name,
                lead_id=lead_id,
                name=event,
                idempotency_key=ikey[:200],
                payload=payload or {},
                at=now,
            )
            .returning(journey_events.c.id)
        ).scalar_one()
    return {"id": eid, "journey": name, "lead_id": lead_id, "event": event, "replayed": False}


def enrolments(
    ctx: Any, name: str, *, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    q = select(journey_enrolments).where(journey_enrolments.c.journey == name)
    if status:
        q = q.where(journey_enrolments.c.status == status)
    with ctx.engine.connect() as conn:
        return [
            dict(r._mapping) for r in conn.execute(q.order_by(journey_enrolments.c.id).limit(limit))
        ]
