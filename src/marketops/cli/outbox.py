"""outbox list|show|retry|replay: inspect deliveries and repair dead letters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlsplit

import typer

from marketops.cli._common import WorkspaceOpt, console, emit_json, table, user_errors

outbox_app = typer.Typer(
    help="The notification outbox: deliveries, attempts, retries and dead letters.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(outbox_app, name="outbox")


def _engine(workspace):  # type: ignore[no-untyped-def]
    from marketops.services.context import AppContext
    from marketops.workspace import Workspace

    return AppContext.open(Workspace.load(workspace)).engine


def masked(destination: str) -> str:
    """Lists show where without leaking: emails as j***@domain, URLs as scheme://host/…"""
    if destination.startswith(("http://", "https://")):
        parts = urlsplit(destination)
        return f"{parts.scheme}://{parts.netloc}/…"
    if "@" in destination:
        local, _, domain = destination.rpartition("@")
        return f"{local[:1]}***@{domain}"
    return destination


@outbox_app.command("list")
def outbox_list(
    workspace: WorkspaceOpt = None,
    status: Annotated[str, typer.Option(help="pending, delivered, dead or all")] = "all",
    limit: int = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Newest deliveries first, with attempts and the last error (destinations masked)."""
    from marketops.notify import outbox

    with user_errors():
        engine = _engine(workspace)
        with engine.connect() as conn:
            rows = outbox.list_deliveries(conn, status=status, limit=limit)
            totals = outbox.counts(conn)
    for r in rows:
        r["destination"] = masked(r["destination"])
        r.pop("payload", None)
    if as_json:
        emit_json({"counts": totals, "deliveries": rows})
        return
    console.print("  ".join(f"{k}: [bold]{v:,}[/]" for k, v in totals.items()), highlight=False)
    console.print(
        table(
            f"Outbox ({status})",
            ["id", "status", "channel", "destination", "attempts", "next attempt", "last error"],
            [
                [
                    r["id"],
                    r["status"],
                    r["channel"],
                    r["destination"],
                    r["attempts"],
                    r["next_attempt_at"].isoformat(timespec="seconds")
                    if r["status"] == "pending"
                    else "",
                    (r["last_error"] or "")[:80],
                ]
                for r in rows
            ],
        )
    )


@outbox_app.command("show")
def outbox_show(delivery_id: int, workspace: WorkspaceOpt = None) -> None:
    """One delivery: destination, payload and every attempt (status code, error, duration)."""
    from marketops.notify import outbox

    with user_errors(), _engine(workspace).connect() as conn:
        emit_json(outbox.get_delivery(conn, delivery_id))


@outbox_app.command("retry")
def outbox_retry(
    ids: Annotated[list[int] | None, typer.Argument(help="delivery ids")] = None,
    workspace: WorkspaceOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="every pending delivery")] = False,
) -> None:
    """Make pending deliveries that wait for a backoff due now (the worker sends them)."""
    from marketops.notify import outbox

    _need_ids(ids, all_)
    with user_errors(), _engine(workspace).begin() as conn:
        n = outbox.retry_now(conn, None if all_ else ids, now=datetime.now(UTC))
    console.print(f"{n} deliver{'y' if n == 1 else 'ies'} due now")


@outbox_app.command("replay")
def outbox_replay(
    ids: Annotated[list[int] | None, typer.Argument(help="dead-lettered delivery ids")] = None,
    workspace: WorkspaceOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="every dead letter")] = False,
) -> None:
    """Send dead letters again from attempt 1, after fixing the receiver or notifications.yml."""
    from marketops.notify import outbox

    _need_ids(ids, all_)
    with user_errors(), _engine(workspace).begin() as conn:
        n = outbox.replay(conn, None if all_ else ids, now=datetime.now(UTC))
    console.print(f"{n} dead letter{'' if n == 1 else 's'} queued again")


def _need_ids(ids: list[int] | None, all_: bool) -> None:
    if bool(ids) == all_:
        console.print("[red]error:[/] give delivery ids or --all (not both)")
        raise typer.Exit(2)
