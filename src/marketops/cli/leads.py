"""ingest, quarantine, lead: the lead pipeline from the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from marketops.cli._common import WorkspaceOpt, console, emit_json, table, user_errors

quarantine_app = typer.Typer(
    help="Inspect, fix and replay records the data contract rejected.", no_args_is_help=True
)
lead_app = typer.Typer(help="Look at leads.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
    app.add_typer(quarantine_app, name="quarantine")
    app.add_typer(lead_app, name="lead")


def _ctx(workspace: Path | None):  # type: ignore[no-untyped-def]
    from marketops.services.context import AppContext
    from marketops.workspace import Workspace

    return AppContext.open(Workspace.load(workspace))


def run_ingest(workspace: Path | None, path: Path, batch_size: int | None = None):  # type: ignore[no-untyped-def]
    from marketops.services.ingest import ingest_file

    ctx = _ctx(workspace)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(f"ingesting {path.name}", total=None)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=max(total, done))

        stats = ingest_file(ctx, path, batch_size=batch_size, on_progress=on_progress)
    return stats, ctx


def print_summary(stats, seconds: float) -> None:  # type: ignore[no-untyped-def]
    if stats.already_done:
        console.print("[yellow]this file was already ingested completely; nothing to do[/]")
    if stats.resumed_from:
        console.print(
            f"[yellow]resumed after row {stats.resumed_from:,}[/] (earlier run interrupted)"
        )
    rows = [
        ["rows", f"{stats.rows:,}"],
        ["accepted (new leads)", f"{stats.accepted:,}"],
        ["updated (same person again)", f"{stats.updated:,}"],
        ["quarantined", f"{stats.quarantined:,}"],
        ["suppressed", f"{stats.suppressed:,}"],
        ["became MQL", f"{stats.mql:,}"],
    ]
    console.print(table(f"Ingest summary ({seconds:.1f} s)", ["", "count"], rows))
    if stats.quarantine_reasons:
        console.print(
            table(
                "Quarantined by reason",
                ["field: rule", "rows"],
                [[k, f"{v:,}"] for k, v in stats.quarantine_reasons.most_common()],
            )
        )
    if stats.routed:
        console.print(
            table(
                "Routed by queue",
                ["queue", "leads"],
                [[k, f"{v:,}"] for k, v in stats.routed.most_common()],
            )
        )


def ingest(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV, JSON lines (.jsonl) or Parquet file", exists=True, dir_okay=False
        ),
    ],
    workspace: WorkspaceOpt = None,
    batch_size: Annotated[int | None, typer.Option(help="rows per transaction")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Run a file of leads through the pipeline. Safe to re-run: resumes, never duplicates."""
    import time

    with user_errors():
        started = time.perf_counter()
        stats, _ = run_ingest(workspace, file, batch_size)
    if as_json:
        emit_json(
            stats.as_dict()
            | {"already_done": stats.already_done, "resumed_from": stats.resumed_from}
        )
    else:
        print_summary(stats, time.perf_counter() - started)


@quarantine_app.command("list")
def q_list(
    workspace: WorkspaceOpt = None,
    status: Annotated[str, typer.Option(help="open, replayed, discarded or all")] = "open",
    limit: int = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Quarantined records with their reasons."""
    from marketops.services import quarantine as q

    with user_errors():
        ctx = _ctx(workspace)
        records = q.list_records(ctx, status, limit)
    if as_json:
        emit_json(records)
        return
    rows = [
        [
            r["id"],
            r["source"],
            r["row_number"] or "",
            "; ".join(f"{e['field']}: {e['message']}" for e in r["errors"]),
            r["status"],
        ]
        for r in records
    ]
    console.print(
        table(f"Quarantine ({status})", ["id", "source", "row", "reasons", "status"], rows)
    )


@quarantine_app.command("show")
def q_show(record_id: int, workspace: WorkspaceOpt = None) -> None:
    """One record: the payload as received and every reason."""
    from marketops.services import quarantine as q

    with user_errors():
        emit_json(q.show(_ctx(workspace), record_id))


@quarantine_app.command("replay")
def q_replay(
    ids: Annotated[list[int] | None, typer.Argument(help="record ids (default: all open)")] = None,
    workspace: WorkspaceOpt = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="FIELD=VALUE fix (one record)")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="replay every open record")] = False,
) -> None:
    """Re-run records through the pipeline after fixing them (or the workspace rules)."""
    from marketops.services import quarantine as q

    if not ids and not all_:
        console.print("give record ids, or --all to replay every open record")
        raise typer.Exit(2)
    with user_errors():
        ctx = _ctx(workspace)
        result = q.replay(ctx, datetime.now(UTC), ids or None, q.parse_sets(set_ or []))
    console.print(
        f"replayed: {len(result['replayed'])}, still failing: {len(result['still_failing'])}"
    )
    for rid, errors in list(result["still_failing"].items())[:20]:
        console.print(f"  {rid}: " + "; ".join(f"{e['field']}: {e['message']}" for e in errors))
    if result["still_failing"]:
        raise typer.Exit(1)


@quarantine_app.command("discard")
def q_discard(record_id: int, workspace: WorkspaceOpt = None) -> None:
    """Close a record that will never be fixed (kept for audit, not replayed)."""
    from marketops.services import quarantine as q

    with user_errors():
        q.discard(_ctx(workspace), record_id, datetime.now(UTC))
    console.print(f"discarded {record_id}")


@lead_app.command("show")
def lead_show(lead_id: str, workspace: WorkspaceOpt = None) -> None:
    """A lead with its activities and full history (scores, stages, routing, reasons)."""
    from marketops.services.leads import get_lead

    with user_errors():
        emit_json(json.loads(json.dumps(get_lead(_ctx(workspace), lead_id), default=str)))
