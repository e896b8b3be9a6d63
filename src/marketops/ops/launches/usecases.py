"""Launch use cases at the edge: open the transaction, run pre-flight outside it, render dicts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from marketops.ops.intake.repo import apply_move, load_request
from marketops.ops.intake.setup import intake_setup
from marketops.ops.intake.states import SCHEDULED
from marketops.ops.launches.gate import AssetReport
from marketops.ops.launches.service import (
    NewLaunch,
    add_asset_in,
    assets_of,
    cancel_in,
    latest_reports,
    load_launch,
    schedule_in,
    ship_in,
    store_report,
)
from marketops.store.tables_intake import intake_audit, intake_launches


def schedule_launch(
    ctx: Any,
    new: NewLaunch,
    *,
    actor: str,
    now: dt.datetime,
    assets: list[tuple[str, str, str, bool]] = (),  # (name, content, kind, page)
    move_note: str | None = None,
) -> dict[str, Any]:
    """Book a launch (next train with room, or a fixed time outside freezes unless overridden),
    attach its assets, and move its request to `scheduled`, all in one transaction."""
    setup = intake_setup(ctx.workspace)
    with ctx.engine.begin() as conn:
        if new.request_id is not None:
            request = load_request(conn, new.request_id)
        launch_id = schedule_in(conn, setup.releases, new, actor=actor, now=now)
        for name, content, kind, page in assets:
            add_asset_in(conn, launch_id, name=name, content=content, kind=kind, page=page, now=now)
        if new.request_id is not None and request["state"] != SCHEDULED:
            apply_move(
                conn,
                request,
                SCHEDULED,
                actor=actor,
                now=now,
                note=move_note or f"launch {launch_id} booked",
                notify=setup.catalog.notify,
            )
    return launch_view(ctx, launch_id)


def add_asset(
    ctx: Any, launch_id: int, *, name: str, content: str, kind: str, page: bool, now: dt.datetime
) -> dict[str, Any]:
    with ctx.engine.begin() as conn:
        add_asset_in(conn, launch_id, name=name, content=content, kind=kind, page=page, now=now)
    return launch_view(ctx, launch_id)


def _run(setup: Any, asset: dict[str, Any], checker: Any) -> Any:
    from marketops.ops.preflight import parse_document, run_preflight

    config, taxonomy = setup.preflight
    document = parse_document(asset["content"], asset["name"], asset["kind"], page=asset["page"])
    return run_preflight(document, config, checker, taxonomy=taxonomy)


def check_launch(
    ctx: Any, launch_id: int, *, now: dt.datetime, online: bool = False
) -> dict[str, Any]:
    """Run pre-flight on every asset (links fetched only when `online`) and keep the reports."""
    setup = intake_setup(ctx.workspace)
    with ctx.engine.connect() as conn:
        load_launch(conn, launch_id)
        assets = assets_of(conn, launch_id)
    reports = []
    if online and assets:
        from marketops.ops.preflight import HttpLinkChecker

        config, _ = setup.preflight
        with HttpLinkChecker(
            timeout_s=config.links.timeout_s,
            max_redirects=config.links.max_redirects,
            concurrency=config.links.concurrency,
        ) as checker:
            reports = [(a, _run(setup, a, checker)) for a in assets]
    else:
        reports = [(a, _run(setup, a, None)) for a in assets]
    with ctx.engine.begin() as conn:
        for asset, report in reports:
            store_report(conn, launch_id, asset, report, online=online, now=now)
    return launch_view(ctx, launch_id, now=now)


def _reports_for_ship(ctx: Any, launch_id: int, now: dt.datetime) -> list[AssetReport]:
    """The latest report of every asset for its current content; an asset changed or never
    checked is checked now (offline) and the report is kept."""
    setup = intake_setup(ctx.workspace)
    with ctx.engine.connect() as conn:
        assets = assets_of(conn, launch_id)
        latest = latest_reports(conn, launch_id)
    stale = [a for a in assets if latest.get(a["id"], {}).get("sha256") != a["sha256"]]
    if stale:
        fresh = [(a, _run(setup, a, None)) for a in stale]
        with ctx.engine.begin() as conn:
            for asset, report in fresh:
                store_report(conn, launch_id, asset, report, online=False, now=now)
            latest = latest_reports(conn, launch_id)
    return [
        AssetReport(a["name"], a["sha256"], latest[a["id"]]["report"], latest[a["id"]]["id"])
        for a in assets
    ]


def ship_launch(
    ctx: Any,
    launch_id: int,
    *,
    actor: str,
    now: dt.datetime,
    override_reason: str | None = None,
) -> dict[str, Any]:
    """Ship: refused while any asset's latest pre-flight has blockers, or inside a freeze
    without an override reason (an override is audited); the request moves to live."""
    setup = intake_setup(ctx.workspace)
    reports = _reports_for_ship(ctx, launch_id, now)
    with ctx.engine.begin() as conn:
        ship_in(
            conn,
            setup.releases,
            launch_id,
            reports,
            actor=actor,
            now=now,
            override_reason=override_reason,
            notify=setup.catalog.notify,
        )
    return launch_view(ctx, launch_id, now=now)


def cancel_launch(ctx: Any, launch_id: int, *, actor: str, now: dt.datetime) -> dict[str, Any]:
    setup = intake_setup(ctx.workspace)
    with ctx.engine.begin() as conn:
        cancel_in(conn, launch_id, actor=actor, now=now, notify=setup.catalog.notify)
    return launch_view(ctx, launch_id)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def launch_view(ctx: Any, launch_id: int, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """A launch with its assets, their latest pre-flight, its freeze verdict and audit trail."""
    setup = intake_setup(ctx.workspace)
    with ctx.engine.connect() as conn:
        launch = load_launch(conn, launch_id)
        assets = assets_of(conn, launch_id)
        latest = latest_reports(conn, launch_id)
        trail = (
            conn.execute(
                select(intake_audit)
                .where(intake_audit.c.entity == "launch", intake_audit.c.entity_id == launch_id)
                .order_by(intake_audit.c.at, intake_audit.c.id)
            )
            .mappings()
            .all()
        )
    verdict = setup.releases.check_launch(
        launch["launch_at"], dt.timedelta(seconds=launch["duration_s"]), launch["override_reason"]
    )
    out_assets = []
    for a in assets:
        run = latest.get(a["id"])
        current = run is not None and run["sha256"] == a["sha256"]
        out_assets.append(
            {
                "name": a["name"],
                "kind": a["kind"],
                "page": a["page"],
                "sha256": a["sha256"],
                "preflight": None
                if run is None
                else {
                    "current": current,
                    "ran_at": _iso(run["ran_at"]),
                    "online": run["online"],
                    "can_ship": run["can_ship"],
                    "blockers": run["blockers"],
                    "warnings": run["warnings"],
                    "findings": run["report"].get("findings", []),
                },
            }
        )
    checked = [a["preflight"] for a in out_assets]
    can_ship_preflight = all(p is not None and p["current"] and p["can_ship"] for p in checked)
    return {
        "id": launch["id"],
        "name": launch["name"],
        "request_id": launch["request_id"],
        "state": launch["state"],
        "train": launch["train"],
        "launch_at": _iso(launch["launch_at"]),
        "window_end": _iso(launch["window_end"]),
        "duration_minutes": launch["duration_s"] / 60,
        "override_reason": launch["override_reason"],
        "created_by": launch["created_by"],
        "created_at": _iso(launch["created_at"]),
        "shipped_at": _iso(launch["shipped_at"]),
        "shipped_by": launch["shipped_by"],
        "freeze": {
            "allowed": verdict.allowed,
            "overridden": verdict.overridden,
            "blocked_by": [w.name for w in verdict.blocked_by],
        },
        "preflight_ok": can_ship_preflight,
        "assets": out_assets,
        "audit": [
            {
                "at": _iso(t["at"]),
                "actor": t["actor"],
                "action": t["action"],
                "reason": t["reason"],
                "details": t["details"],
            }
            for t in trail
        ],
    }


def list_launches(ctx: Any, *, state: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    q = (
        select(intake_launches)
        .order_by(intake_launches.c.launch_at, intake_launches.c.id)
        .limit(limit)
    )
    if state:
        q = q.where(intake_launches.c.state == state)
    with ctx.engine.connect() as conn:
        rows = conn.execute(q).mappings().all()
    return [
        {
            "id": r["id"],
            "name": r["name"],
            "request_id": r["request_id"],
            "state": r["state"],
            "train": r["train"],
            "launch_at": _iso(r["launch_at"]),
            "shipped_at": _iso(r["shipped_at"]),
        }
        for r in rows
    ]
