"""lead move|why|history|activity, accounts import|list, sla tick: lifecycle and routing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from marketops.cli._common import WorkspaceOpt, console, emit_json, table, user_errors
from marketops.cli.leads import _ctx, lead_app

accounts_app = typer.Typer(help="Sales accounts for lead-to-account routing.", no_args_is_help=True)
sla_app = typer.Typer(help="SLA timers (the worker runs `tick` on its own).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    lead_app.command("move")(lead_move)
    lead_app.command("why")(lead_why)
    lead_app.command("history")(lead_history)
    lead_app.command("activity")(lead_activity)
    app.add_typer(accounts_app, name="accounts")
    app.add_typer(sla_app, name="sla")


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    from marketops.errors import MarketopsError, Problem

    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise MarketopsError(
            "bad time", [Problem("--at", value, "ISO 8601, e.g. 2026-11-25T10:00Z")]
        ) from exc
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def lead_move(
    lead_id: str,
    to: Annotated[str, typer.Argument(help="the stage to move to (lifecycle.yml)")],
    actor: Annotated[str, typer.Option("--by", help="who moves it (a person's name)")],
    reason: Annotated[str | None, typer.Option(help="why (required to move backward)")] = None,
    workspace: WorkspaceOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Move a lead to another lifecycle stage; forbidden moves are refused with what is allowed."""
    from marketops.lifecycle.service import move_lead

    with user_errors():
        out = move_lead(
            _ctx(workspace), lead_id, to, actor=actor, reason=reason, now=datetime.now(UTC)
        )
    if as_json:
        emit_json(out)
        return
    back = " (backward)" if out["backward"] else ""
    console.print(f"{lead_id}: {out['from']} -> {out['to']}{back} by {actor}")
    if out["timers_started"]:
        console.print("SLA clocks started: " + ", ".join(sorted(set(out["timers_started"]))))


def lead_why(
    lead_id: str,
    workspace: WorkspaceOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Why the lead has its owner: each routing decision, rules tried, members skipped and why."""
    from marketops.routing.service import why

    with user_errors():
        out = why(_ctx(workspace), lead_id)
    if as_json:
        emit_json(out)
        return
    console.print(
        f"lead {lead_id}: stage {out['stage']}, queue {out['queue'] or '-'},"
        f" owner {out['owner'] or '-'}"
    )
    if not out["decisions"]:
        console.print("no routing decision recorded (suppressed, or no rule matched)")
    for d in out["decisions"]:
        console.print(
            f"\n[bold]{d['at']:%Y-%m-%d %H:%M:%S} UTC[/] by {d['actor']}: "
            f"queue {d.get('queue') or '-'}, owner {d.get('owner') or '-'}"
        )
        if d.get("evaluated"):
            console.print("  rules tried: " + " -> ".join(d["evaluated"]))
        for r in d.get("reasons") or []:
            console.print(f"  - {r}")


def lead_history(
    lead_id: str,
    workspace: WorkspaceOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Stage history: every transition (time, actor, reason), time in stage, SLA clocks."""
    from marketops.lifecycle.service import history

    with user_errors():
        out = history(_ctx(workspace), lead_id, datetime.now(UTC))
    if as_json:
        emit_json(out)
        return
    console.print(
        table(
            f"Lead {lead_id}: {out['stage']} (owner {out['owner'] or '-'})",
            ["at (UTC)", "from", "to", "actor", "reason"],
            [
                [
                    f"{t['at']:%Y-%m-%d %H:%M}",
                    t["from"] or "",
                    t["to"],
                    t["actor"],
                    t["reason"] or "",
                ]
                for t in out["transitions"]
            ],
        )
    )
    console.print(
        table(
            "Time in stage",
            ["stage", "time"],
            [[k, v["text"]] for k, v in out["time_in_stage"].items()],
        )
    )
    if out["sla_timers"]:
        console.print(
            table(
                "SLA timers",
                ["sla", "action", "calendar", "due (UTC)", "status"],
                [
                    [
                        t["sla"],
                        t["action"],
                        t["calendar"],
                        f"{t['due_at']:%Y-%m-%d %H:%M}" if t["due_at"] else "(next tick)",
                        t["status"],
                    ]
                    for t in out["sla_timers"]
                ],
            )
        )


def lead_activity(
    lead_id: str,
    kind: Annotated[str, typer.Argument(help="call, email or meeting")],
    actor: Annotated[str, typer.Option("--by", help="who made the touch")],
    at: Annotated[str | None, typer.Option(help="when (ISO 8601; default now)")] = None,
    notes: Annotated[str | None, typer.Option()] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Record a sales touch; it stops the first-contact clock."""
    from marketops.lifecycle.service import record_activity

    with user_errors():
        out = record_activity(
            _ctx(workspace),
            lead_id,
            kind,
            actor=actor,
            now=datetime.now(UTC),
            occurred_at=_when(at),
            notes=notes,
        )
    stopped = f"; stopped: {', '.join(out['stopped'])}" if out["stopped"] else ""
    console.print(f"recorded {kind} on {lead_id}{stopped}")


@accounts_app.command("import")
def accounts_import(
    file: Annotated[
        Path, typer.Argument(help="CSV: account_id,name,domain,owner", exists=True, dir_okay=False)
    ],
    workspace: WorkspaceOpt = None,
) -> None:
    """Insert or update accounts (by account_id) for lead-to-account routing."""
    from marketops.routing.service import import_accounts

    with user_errors():
        out = import_accounts(_ctx(workspace), file, datetime.now(UTC))
    console.print(f"{out['rows']} account(s): {out['inserted']} new, {out['updated']} updated")


@accounts_app.command("list")
def accounts_list(
    workspace: WorkspaceOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Accounts in the store."""
    from marketops.routing.accounts import store_accounts

    with user_errors():
        ctx = _ctx(workspace)
        with ctx.engine.connect() as conn:
            rows = store_accounts(conn)
    if as_json:
        emit_json(
            [{"id": a.id, "name": a.name, "domain": a.domain, "owner": a.owner} for a in rows]
        )
        return
    console.print(
        table(
            "Accounts",
            ["id", "name", "domain", "owner"],
            [[a.id, a.name, a.domain, a.owner] for a in rows],
        )
    )


@sla_app.command("tick")
def sla_tick_cmd(workspace: WorkspaceOpt = None) -> None:
    """Fire the SLA timers that are due now, once (what the worker does on its interval)."""
    from marketops.lifecycle.timers import sla_tick

    with user_errors():
        n = sla_tick(_ctx(workspace), datetime.now(UTC))
    console.print(f"{n} timer(s) handled")
