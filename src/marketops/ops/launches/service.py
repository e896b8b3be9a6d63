"""Launch use cases: book on the next release train with room, attach assets, run pre-flight,
ship (refused with blockers or inside a freeze unless overridden; overrides are audited).

Capacity under concurrency: each booking takes a numbered seat of its window, and
(train, window_start, seat) is unique. Two schedulers racing for the last seat both insert; one
wins, the other's insert fails inside a savepoint and it re-reads the bookings and tries the next
window. That holds on PostgreSQL without table locks; on SQLite writers are serialised anyway.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from marketops.errors import MarketopsError, NotFound, Problem
from marketops.ops.intake.repo import apply_move, load_request
from marketops.ops.intake.states import LIVE, QA, SCHEDULED
from marketops.ops.launches.gate import AssetReport, LaunchRefused, freeze_problems, ship_gate
from marketops.ops.releases import Booking, ReleaseCalendar
from marketops.store.tables_intake import (
    intake_audit,
    intake_launch_assets,
    intake_launch_bookings,
    intake_launches,
    intake_preflight_runs,
)

_RETRIES = 20
_LOOKBACK = dt.timedelta(days=8)  # windows open before `after` still count their bookings


@dataclass(frozen=True)
class NewLaunch:
    name: str
    request_id: int | None = None
    duration: dt.timedelta = dt.timedelta(minutes=30)
    after: dt.datetime | None = None  # default: now
    train: str | None = None
    at: dt.datetime | None = None  # a fixed time instead of the next train
    override_reason: str | None = None


def _existing_bookings(conn: Connection, since: dt.datetime) -> list[Booking]:
    b = intake_launch_bookings
    rows = conn.execute(select(b.c.at, b.c.train, b.c.launch_id).where(b.c.at >= since))
    return [Booking(at=at, train=train, ref=str(lid)) for at, train, lid in rows]


def _free_seat(
    conn: Connection, train: str, window_start: dt.datetime, capacity: int
) -> int | None:
    b = intake_launch_bookings
    taken = {
        s
        for (s,) in conn.execute(
            select(b.c.seat).where(b.c.train == train, b.c.window_start == window_start)
        )
    }
    return next((s for s in range(1, capacity + 1) if s not in taken), None)


def _insert_launch(conn: Connection, new: NewLaunch, values: dict[str, Any]) -> int:
    return conn.execute(
        intake_launches.insert()
        .values(
            name=new.name,
            request_id=new.request_id,
            state="scheduled",
            duration_s=int(new.duration.total_seconds()),
            **values,
        )
        .returning(intake_launches.c.id)
    ).scalar_one()


def _book(
    conn: Connection,
    launch_id: int,
    train: str,
    window_start: dt.datetime,
    seat: int,
    at: dt.datetime,
) -> bool:
    """Take the seat inside a savepoint; False when someone else took it first."""
    try:
        with conn.begin_nested():
            conn.execute(
                intake_launch_bookings.insert().values(
                    launch_id=launch_id, train=train, window_start=window_start, seat=seat, at=at
                )
            )
    except IntegrityError:
        return False
    return True


def audit(
    conn: Connection,
    *,
    action: str,
    entity: str,
    entity_id: int,
    actor: str,
    reason: str,
    now: dt.datetime,
    details: dict[str, Any],
) -> None:
    conn.execute(
        intake_audit.insert().values(
            at=now,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            reason=reason,
            details=details,
        )
    )


def _freeze_details(verdict: Any) -> dict[str, Any]:
    return {
        "at": verdict.at.isoformat(),
        "freezes": [
            {"name": w.name, "start": w.start.isoformat(), "end": w.end.isoformat()}
            for w in verdict.blocked_by
        ],
    }


def schedule_in(
    conn: Connection,
    releases: ReleaseCalendar,
    new: NewLaunch,
    *,
    actor: str,
    now: dt.datetime,
) -> int:
    """Book `new` inside the caller's transaction; returns the launch id."""
    if not new.name.strip():
        raise MarketopsError("a launch needs a name", [Problem("name", "is empty")])
    base = {"created_by": actor, "created_at": now}
    if new.at is not None:
        verdict = releases.check_launch(new.at, new.duration, new.override_reason)
        if not verdict.allowed:
            raise LaunchRefused(
                f"{new.at.isoformat()} is inside a change freeze", freeze_problems(verdict)
            )
        window = verdict.train_window
        if new.train is not None and (window is None or window.name != new.train):
            raise LaunchRefused(
                f"{new.at.isoformat()} is not in a window of train {new.train!r}",
                [Problem("at", "outside the train's windows", "see `marketops release next`")],
            )
        launch_id = _insert_launch(
            conn,
            new,
            {
                **base,
                "launch_at": verdict.at,
                "train": window.name if window else None,
                "window_end": window.end if window else None,
                "override_reason": verdict.override_reason,
            },
        )
        if window is not None:
            seat = _free_seat(conn, window.name, window.start, window.capacity)
            if seat is None or not _book(
                conn, launch_id, window.name, window.start, seat, verdict.at
            ):
                raise LaunchRefused(
                    f"train {window.name} at {window.start.isoformat()} is full",
                    [
                        Problem(
                            "at", f"all {window.capacity} seats are taken", "pick another window"
                        )
                    ],
                )
        if verdict.overridden:
            audit(
                conn,
                action="freeze_override",
                entity="launch",
                entity_id=launch_id,
                actor=actor,
                reason=verdict.override_reason or "",
                now=now,
                details={"when": "schedule", **_freeze_details(verdict)},
            )
        return launch_id

    after = new.after or now
    launch_id = None
    for _ in range(_RETRIES):
        bookings = _existing_bookings(conn, after - _LOOKBACK)
        slot = releases.next_train(after, bookings, new.duration, train=new.train)
        seat = _free_seat(conn, slot.train, slot.window_start, slot.capacity)
        if seat is None:  # the window filled between our read and now; read again
            continue
        values = {
            **base,
            "launch_at": slot.launch_at,
            "train": slot.train,
            "window_end": slot.window_end,
        }
        if launch_id is None:
            launch_id = _insert_launch(conn, new, values)
        else:
            conn.execute(
                update(intake_launches).where(intake_launches.c.id == launch_id).values(**values)
            )
        if _book(conn, launch_id, slot.train, slot.window_start, seat, slot.launch_at):
            return launch_id
    raise LaunchRefused(
        "could not book a seat: too many concurrent bookings",
        [Problem("releases.yml", f"{_RETRIES} attempts lost the race", "retry")],
    )


def load_launch(conn: Connection, launch_id: int) -> dict[str, Any]:
    row = (
        conn.execute(select(intake_launches).where(intake_launches.c.id == launch_id))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(
            f"launch {launch_id} not found",
            [Problem("id", f"no launch {launch_id}", "see `marketops launch list`")],
        )
    return dict(row)


def add_asset_in(
    conn: Connection,
    launch_id: int,
    *,
    name: str,
    content: str,
    kind: str,
    page: bool,
    now: dt.datetime,
) -> int:
    """Attach (or replace, by name) an email or page to a launch; its hash ties reports to it."""
    if kind not in ("html", "eml"):
        raise MarketopsError(
            f"asset {name}: unknown kind {kind!r}", [Problem("kind", "use html or eml")]
        )
    launch = load_launch(conn, launch_id)
    if launch["state"] != "scheduled":
        raise LaunchRefused(
            f"launch {launch_id} is {launch['state']}",
            [Problem("state", "assets can change only before shipping")],
        )
    digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
    a = intake_launch_assets
    existing = conn.execute(
        select(a.c.id).where(a.c.launch_id == launch_id, a.c.name == name)
    ).scalar()
    values = {"kind": kind, "page": page, "content": content, "sha256": digest, "added_at": now}
    if existing is not None:
        conn.execute(update(a).where(a.c.id == existing).values(**values))
        return existing
    return conn.execute(
        a.insert().values(launch_id=launch_id, name=name, **values).returning(a.c.id)
    ).scalar_one()


def assets_of(conn: Connection, launch_id: int) -> list[dict[str, Any]]:
    a = intake_launch_assets
    return [
        dict(r)
        for r in conn.execute(select(a).where(a.c.launch_id == launch_id).order_by(a.c.id))
        .mappings()
        .all()
    ]


def latest_reports(conn: Connection, launch_id: int) -> dict[int, dict[str, Any]]:
    """asset id -> its newest pre-flight run."""
    p = intake_preflight_runs
    out: dict[int, dict[str, Any]] = {}
    rows = conn.execute(
        select(p).where(p.c.launch_id == launch_id).order_by(p.c.ran_at, p.c.id)
    ).mappings()
    for row in rows:
        out[row["asset_id"]] = dict(row)
    return out


def store_report(
    conn: Connection,
    launch_id: int,
    asset: dict[str, Any],
    report: Any,
    *,
    online: bool,
    now: dt.datetime,
) -> int:
    data = report.to_dict()
    return conn.execute(
        intake_preflight_runs.insert()
        .values(
            launch_id=launch_id,
            asset_id=asset["id"],
            sha256=asset["sha256"],
            online=online,
            can_ship=data["can_ship"],
            blockers=data["blockers"],
            warnings=data["warnings"],
            report=data,
            ran_at=now,
        )
        .returning(intake_preflight_runs.c.id)
    ).scalar_one()


def ship_in(
    conn: Connection,
    releases: ReleaseCalendar,
    launch_id: int,
    reports: list[AssetReport],
    *,
    actor: str,
    now: dt.datetime,
    override_reason: str | None = None,
    move_request: bool = True,
    notify: Any | None = None,
) -> dict[str, Any]:
    """Ship inside the caller's transaction: gate on `reports` (the latest for every asset, for
    the current content) and on the freezes at `now`; mark live; move the request to live."""
    launch = load_launch(conn, launch_id)
    if launch["state"] != "scheduled":
        raise LaunchRefused(
            f"launch {launch_id} is {launch['state']}",
            [Problem("state", "only a scheduled launch can ship")],
        )
    verdict = releases.check_launch(now, dt.timedelta(0), override_reason)
    ship_gate(reports, verdict)
    result = conn.execute(
        update(intake_launches)
        .where(intake_launches.c.id == launch_id, intake_launches.c.state == "scheduled")
        .values(state="live", shipped_at=now, shipped_by=actor)
    )
    if result.rowcount != 1:
        raise LaunchRefused(f"launch {launch_id} was shipped or cancelled meanwhile")
    if verdict.overridden:
        audit(
            conn,
            action="freeze_override",
            entity="launch",
            entity_id=launch_id,
            actor=actor,
            reason=verdict.override_reason or "",
            now=now,
            details={"when": "ship", **_freeze_details(verdict)},
        )
    if move_request and launch["request_id"] is not None:
        request = load_request(conn, launch["request_id"])
        if request["state"] == SCHEDULED:
            apply_move(
                conn,
                request,
                LIVE,
                actor=actor,
                now=now,
                note=f"launch {launch_id} shipped",
                notify=notify,
            )
    return {**launch, "state": "live", "shipped_at": now, "shipped_by": actor}


def cancel_in(
    conn: Connection, launch_id: int, *, actor: str, now: dt.datetime, notify: Any | None = None
) -> None:
    """Take a scheduled launch off its train (freeing the seat); its request goes back to QA."""
    launch = load_launch(conn, launch_id)
    if launch["state"] != "scheduled":
        raise LaunchRefused(f"launch {launch_id} is {launch['state']}")
    conn.execute(
        intake_launch_bookings.delete().where(intake_launch_bookings.c.launch_id == launch_id)
    )
    conn.execute(
        update(intake_launches).where(intake_launches.c.id == launch_id).values(state="cancelled")
    )
    if launch["request_id"] is not None:
        request = load_request(conn, launch["request_id"])
        if request["state"] == SCHEDULED:
            apply_move(
                conn,
                request,
                QA,
                actor=actor,
                now=now,
                note=f"launch {launch_id} cancelled",
                notify=notify,
            )
