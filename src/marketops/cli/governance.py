"""plan, apply, rollback, versions: change control for the workspace's governed files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from marketops.cli._common import WorkspaceOpt, console, emit_json, err_console, table, user_errors


def register(app: typer.Typer) -> None:
    app.command("plan")(plan)
    app.command("apply")(apply)
    app.command("rollback")(rollback)
    app.command("versions")(versions)


def _ctx(workspace: Path | None):  # type: ignore[no-untyped-def]
    from marketops.services.context import AppContext
    from marketops.workspace import Workspace

    return AppContext.open(Workspace.load(workspace))


def plan(
    workspace: WorkspaceOpt = None,
    since: Annotated[
        str | None,
        typer.Option(help="back-test leads active since: YYYY-MM-DD, 90d, 3m, or `all`"),
    ] = None,
    until: Annotated[str | None, typer.Option(help="end of the period (default: now)")] = None,
    outcomes: Annotated[
        Path | None,
        typer.Option(help="CSV of deal outcomes: lead_id or email, won, amount"),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="processes for the back-test (default: all cores)")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print the plan as JSON")] = False,
    full_diff: Annotated[bool, typer.Option("--diff/--no-diff", help="show the diff")] = True,
) -> None:
    """Diff the workspace against the live version and back-test the change on stored leads."""
    from marketops.governance import service
    from marketops.governance.outcomes import read_outcomes_csv

    now = datetime.now(UTC)
    with user_errors():
        ctx = _ctx(workspace)
        end = service.parse_time(until, "--until") if until else None
        everything = since is not None and since.strip().lower() == "all"
        start = service.parse_since(since, end or now) if since and not everything else None
        rows = read_outcomes_csv(outcomes) if outcomes else None
        report = service.plan(
            ctx,
            now=now,
            since=start,
            all_history=everything,
            until=end,
            outcomes=rows,
            workers=workers if workers is not None else service.default_workers(),
        )
    if json_out:
        emit_json(report)
        return
    _render_plan(report, full_diff)


def _render_plan(report: dict[str, Any], full_diff: bool) -> None:
    live = report["live"]
    head = (
        f"live: v{live['version']} ({live['action']} by {escape(live['who'])}, {live['at']:%Y-%m-%d %H:%M} UTC)"
        if live
        else "live: none yet (the first apply records v1)"
    )
    console.print(f"[bold]Plan {report['plan_id']}[/]  {head}", highlight=False)
    changes = report["changes"]
    if not changes:
        console.print("no changes to the governed files")
    for c in changes:
        console.print(
            f"  [bold]{c['status']:>8}[/] {escape(c['path'])}  "
            f"[green]+{c['added_lines']}[/] [red]-{c['removed_lines']}[/]"
        )
        if full_diff:
            for line in c["diff"].splitlines():
                style = (
                    "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
                )
                console.print(f"    [{style}]{escape(line)}[/]", highlight=False, soft_wrap=True)
    for p in report["problems"]:
        hint = f" → {escape(p['hint'])}" if p["hint"] else ""
        err_console.print(f"[red]✗[/] {escape(p['where'])}: {escape(p['message'])}{hint}")
    if report["problems"]:
        err_console.print(f"{len(report['problems'])} problem(s): apply will refuse until fixed")
    bt = report["backtest"]
    if bt is None:
        console.print(f"[yellow]no back-test[/]: {escape(report.get('backtest_skipped', ''))}")
        return
    _render_backtest(bt)
    console.print(
        f"\nto make this live: `marketops apply --who NAME --why REASON` (plan {report['plan_id']})"
    )


def _render_backtest(bt: dict[str, Any]) -> None:
    period = bt["period"]
    since = f"{period['since']:%Y-%m-%d}" if period["since"] else "the beginning"
    console.print(
        f"\n[bold]Back-test[/] ({bt['compared']}): {bt['leads']:,} leads active from {since} to "
        f"{period['until']:%Y-%m-%d}, {bt['activities']:,} activities, {bt['seconds']:.1f} s",
        highlight=False,
    )
    m = bt["mql"]
    console.print(
        table(
            "MQLs in the period",
            ["", "leads"],
            [
                ["live rules", f"{m['live']:,}"],
                ["candidate rules", f"{m['candidate']:,}"],
                ["would no longer be MQL", f"{m['lost']:,}"],
                ["would newly be MQL", f"{m['gained']:,}"],
            ],
        )
    )
    s = bt["scores"]
    rows = [
        [label, f"{s['live']['buckets'][label]:,}", f"{s['candidate']['buckets'][label]:,}"]
        for label in s["live"]["buckets"]
    ]
    for k in ("mean", "p50", "p90"):
        if k in s["live"]:
            rows.append([k, f"{s['live'][k]:g}", f"{s['candidate'][k]:g}"])
    console.print(table("Score at the last touch", ["score", "live", "candidate"], rows))
    console.print(
        f"scores changed for {s['changed']:,} leads ({s['up']:,} up, {s['down']:,} down;"
        f" mean change {s['mean_change']:+g})"
    )
    r = bt["routing"]
    queues = sorted(set(r["live"]) | set(r["candidate"]))
    matrix = [
        [q, *[f"{r['matrix'].get(q, {}).get(dst, 0):,}" for dst in queues]]
        for q in queues
        if q in r["live"]
    ]
    console.print(table("Queue moves (rows: live, columns: candidate)", ["", *queues], matrix))
    console.print(f"{r['moved']:,} leads would move to another queue")
    o = bt.get("outcomes")
    if o:
        console.print(
            table(
                "Deal outcomes",
                ["", "deals", "revenue"],
                [
                    ["won, in the back-test", f"{o['won']:,}", o["won_revenue"]],
                    [
                        "won deals that would lose MQL status",
                        f"{o['won_losing_mql']:,}",
                        o["won_losing_mql_revenue"],
                    ],
                    [
                        "won deals that would gain MQL status",
                        f"{o['won_gaining_mql']:,}",
                        o["won_gaining_mql_revenue"],
                    ],
                ],
            )
        )
        notes = []
        if o.get("not_in_backtest"):
            notes.append(f"{o['not_in_backtest']:,} outcome(s) for leads outside the period")
        if o.get("unknown_emails"):
            notes.append(f"{o['unknown_emails']:,} email(s) not in the store")
        if o.get("unreadable"):
            notes.append(f"{o['unreadable']:,} unreadable row(s): ")
            notes[-1] += "; ".join(
                f"row {p['row']}: {p['message']}" for p in o["unreadable_rows"][:5]
            )
        for n in notes:
            console.print(f"[yellow]note[/]: {escape(n)}")


def apply(
    who: Annotated[str, typer.Option(help="who makes the change live")],
    why: Annotated[str, typer.Option(help="why (recorded with the version)")],
    plan_id: Annotated[
        int | None, typer.Option("--plan", help="plan id (default: the latest for these files)")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Make the planned working files the live version (refused if invalid or out of date)."""
    from marketops.governance import service

    with user_errors():
        ctx = _ctx(workspace)
        out = service.apply(ctx, who=who, why=why, now=datetime.now(UTC), plan_id=plan_id)
    console.print(
        f"[green]applied[/]: v{out['version']} is live (plan {out['plan_id']}, {out['hash'][:12]})"
    )


def rollback(
    version: Annotated[int, typer.Argument(help="the version to return to")],
    who: Annotated[str, typer.Option(help="who rolls back")],
    why: Annotated[str, typer.Option(help="why (recorded with the version)")],
    force: Annotated[
        bool, typer.Option(help="overwrite working-file changes that were never applied")
    ] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Write an earlier version's files back to the workspace and record it as a new version."""
    from marketops.governance import service

    with user_errors():
        ctx = _ctx(workspace)
        out = service.rollback(ctx, version, who=who, why=why, now=datetime.now(UTC), force=force)
    console.print(
        f"[green]rolled back[/]: v{out['version']} is live with the files of v{out['restored']}"
    )
    for p in out["written"]:
        console.print(f"  wrote {escape(p)}")
    for p in out["removed"]:
        console.print(f"  removed {escape(p)} (absent from v{out['restored']})")


def versions(
    a: Annotated[int | None, typer.Argument(help="show this version's diff")] = None,
    b: Annotated[int | None, typer.Argument(help="… or the diff from A to B")] = None,
    workspace: WorkspaceOpt = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """History of workspace versions; `versions N` shows what N changed; `versions A B` diffs."""
    from marketops.governance import service

    with user_errors():
        ctx = _ctx(workspace)
        if a is None:
            out = service.list_versions(ctx)
        else:
            changes = service.version_diff(ctx, a, b)
    if a is None:
        if json_out:
            emit_json(out)
            return
        rows = [
            [
                f"v{v['version']}" + (" (live)" if v["version"] == out["live"] else ""),
                f"{v['created_at']:%Y-%m-%d %H:%M}",
                v["action"] + (f" → v{v['rolled_back_to']}" if v["rolled_back_to"] else ""),
                v["who"],
                v["why"],
                ", ".join(v["changed_files"]),
            ]
            for v in out["versions"]
        ]
        console.print(
            table(
                "Workspace versions", ["version", "at (UTC)", "action", "who", "why", "files"], rows
            )
        )
        if out["live"] is None:
            console.print("nothing applied yet: `marketops plan`, then `marketops apply`")
        elif not out["working_in_sync"]:
            console.print(
                "[yellow]the working files differ from the live version[/]: `marketops plan`"
            )
        return
    if json_out:
        emit_json([c.__dict__ for c in changes])
        return
    if not changes:
        console.print("no differences")
    for c in changes:
        console.print(f"[bold]{c.status}[/] {escape(c.path)}")
        for line in c.diff.splitlines():
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
            console.print(f"  [{style}]{escape(line)}[/]", highlight=False, soft_wrap=True)
