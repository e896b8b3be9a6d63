"""`marketops users create|list` (dashboard sign-in) and `marketops report scorecard`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from marketops.cli._common import WorkspaceOpt, console, load_workspace, table, user_errors
from marketops.errors import MarketopsError, Problem

users_app = typer.Typer(help="People who may sign in to the dashboard.", no_args_is_help=True)
report_app = typer.Typer(help="Reports: the weekly scorecard.", no_args_is_help=True)


def _ctx(workspace: Path | None):  # -> AppContext
    from marketops.services.context import AppContext

    return AppContext.open(load_workspace(workspace))


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="sign-in name")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Create a dashboard user; the password is asked twice (or read from stdin), stored scrypt-hashed."""
    import sys
    from datetime import UTC, datetime

    from marketops.web.auth import UserService

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with user_errors():
        ctx = _ctx(workspace)
        try:
            user = UserService(ctx.engine).create(username, password, datetime.now(UTC))
        finally:
            ctx.close()
    console.print(f"created dashboard user [bold]{user.username}[/]")


@users_app.command("list")
def users_list(workspace: WorkspaceOpt = None) -> None:
    """Dashboard users (never their password hashes)."""
    from marketops.web.auth import UserService

    with user_errors():
        ctx = _ctx(workspace)
        try:
            users = UserService(ctx.engine).list()
        finally:
            ctx.close()
    console.print(
        table(
            "dashboard users",
            ["user", "created", "disabled"],
            [
                [
                    u.username,
                    u.created_at.isoformat(),
                    u.disabled_at.isoformat() if u.disabled_at else "",
                ]
                for u in users
            ],
        )
    )


@report_app.command("scorecard")
def scorecard(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="write the HTML here (default: stdout)")
    ] = None,
    now: Annotated[
        str | None, typer.Option(help="as of this ISO instant with zone (default: now)")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """The weekly scorecard as one self-contained HTML file (charts inline)."""
    from datetime import UTC, datetime

    from marketops.reports.scorecard import build_scorecard

    with user_errors():
        at = datetime.now(UTC)
        if now:
            try:
                at = datetime.fromisoformat(now.replace("Z", "+00:00"))
            except ValueError as exc:
                raise MarketopsError(
                    "--now is not a date-time", [Problem("--now", str(exc))]
                ) from exc
            if at.tzinfo is None:
                raise MarketopsError("--now needs a time zone", [Problem("--now", now, "add Z")])
        ctx = _ctx(workspace)
        try:
            html = build_scorecard(ctx, at)
        finally:
            ctx.close()
    if out is None:
        typer.echo(html)
    else:
        out.write_text(html, encoding="utf-8")
        console.print(f"wrote {out} ({len(html):,} bytes)")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
    app.add_typer(report_app, name="report")
