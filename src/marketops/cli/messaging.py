"""email preview|send-test|sends: render templates, send a test copy, list send decisions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer

from marketops.cli._common import WorkspaceOpt, console, emit_json, table, user_errors

email_app = typer.Typer(
    help="Journey email: preview templates, send a test copy, see send decisions.",
    no_args_is_help=True,
)

ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="template params as KEY=VALUE (repeatable)"),
]


def register(app: typer.Typer) -> None:
    app.add_typer(email_app, name="email")


@contextmanager
def _opened(workspace) -> Iterator:  # type: ignore[no-untyped-def]
    """The app context for one command, with user errors rendered and the store closed after."""
    from marketops.services.context import AppContext
    from marketops.workspace import Workspace

    with user_errors():
        ctx = AppContext.open(Workspace.load(workspace))
        try:
            yield ctx
        finally:
            ctx.close()


def _params(values: list[str] | None) -> dict[str, str | None]:
    from marketops.services.quarantine import parse_sets

    return parse_sets(values or [])


@email_app.command("preview")
def preview(
    template: str,
    lead: Annotated[str | None, typer.Option("--lead", help="lead id")] = None,
    email: Annotated[str | None, typer.Option("--email", help="lead email")] = None,
    param: ParamOpt = None,
    html: Annotated[bool, typer.Option("--html", help="print the HTML body too")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Render TEMPLATE for a lead (or with every fallback when no lead is named)."""
    from marketops.messaging import service

    with _opened(workspace) as ctx:
        out = service.preview(ctx, template, lead_id=lead, email=email, params=_params(param))
    if as_json:
        emit_json({"subject": out.subject, "text": out.text, "html": out.html})
        return
    console.print(f"[bold]Subject:[/] {out.subject}", highlight=False)
    console.print(f"[bold]From:[/] {out.from_name}\n", highlight=False)
    console.print(out.text, markup=False, highlight=False)
    if html and out.html:
        console.print("\n[bold]HTML:[/]")
        console.print(out.html, markup=False, highlight=False)


@email_app.command("send-test")
def send_test(
    template: str,
    to: Annotated[str, typer.Option("--to", help="address that gets the [TEST] copy")],
    lead: Annotated[str | None, typer.Option("--lead", help="render for this lead")] = None,
    param: ParamOpt = None,
    deliver: Annotated[
        bool, typer.Option(help="run one outbox tick now instead of leaving it to the worker")
    ] = True,
    workspace: WorkspaceOpt = None,
) -> None:
    """Send a [TEST] copy of TEMPLATE through the outbox (no consent, quiet-hour or cap checks)."""
    from marketops.messaging import service

    with _opened(workspace) as ctx:
        now = datetime.now(UTC)
        delivery_id = service.send_test(
            ctx, template, to=to, now=now, lead_id=lead, params=_params(param)
        )
        console.print(f"queued as outbox delivery {delivery_id}")
        if deliver:
            from marketops.notify.jobs import deliver_outbox
            from marketops.notify.outbox import get_delivery

            deliver_outbox(ctx, now)
            with ctx.engine.connect() as conn:
                row = get_delivery(conn, delivery_id)
            console.print(f"status: {row['status']}" + _error(row))


def _error(row: dict) -> str:
    return f" ({row['last_error']})" if row.get("last_error") else ""


@email_app.command("sends")
def sends(
    lead: Annotated[str | None, typer.Option("--lead", help="only this lead")] = None,
    limit: int = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Send decisions, newest first: queued, skipped (with why) and deferred (until when)."""
    from marketops.messaging import service

    with _opened(workspace) as ctx:
        rows = service.sends(ctx, lead_id=lead, limit=limit)
    if as_json:
        emit_json(rows)
        return
    cols = ["id", "lead_id", "ref", "template", "status", "reason", "retry_at", "delivery_id"]
    console.print(
        table(
            "Email sends",
            [*cols, "decided_at"],
            [[r[c] for c in [*cols, "decided_at"]] for r in rows],
        )
    )
