"""`marketops preflight FILE...`: the pre-send checklist for emails (.html/.eml) and landing pages."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from marketops.cli._common import WorkspaceOpt, console, emit_json, err_console, user_errors

if TYPE_CHECKING:  # imports deferred at run time: `marketops --help` stays fast
    from marketops.ops.preflight import PreflightConfig, Report

_STYLE = {"blocker": "bold red", "warning": "yellow", "info": "dim"}


def _config(workspace: Path | None) -> tuple[PreflightConfig, Any]:
    """(PreflightConfig, taxonomy or None). Outside a workspace the defaults apply."""
    from marketops.ops.preflight import PreflightConfig
    from marketops.ops.preflight.utm import load_taxonomy_file
    from marketops.ops.preflight.workspace_files import FILENAME
    from marketops.workspace import ENV_WORKSPACE, SETTINGS_FILE, Workspace
    from marketops.workspace.yamlfile import load_model

    root = workspace or os.environ.get(ENV_WORKSPACE)
    if root is None and not Path(SETTINGS_FILE).exists():
        err_console.print("[dim]no workspace here: using the default preflight checklist[/]")
        return PreflightConfig(), None
    ws = Workspace.load(root)
    # same as ws.extra("preflight.yml") minus the registry scan, which imports every capability
    # (scipy, pandas, …) and would cost seconds per run
    config = load_model(ws.path(FILENAME), PreflightConfig, default={})
    return config, load_taxonomy_file(ws.path(config.utm.taxonomy))


def preflight(
    files: Annotated[
        list[Path],
        typer.Argument(
            help=".html, .htm or .eml files", exists=True, dir_okay=False, readable=True
        ),
    ],
    workspace: WorkspaceOpt = None,
    offline: Annotated[bool, typer.Option("--offline", help="check link syntax only")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the reports as JSON")] = False,
    page: Annotated[
        bool, typer.Option("--page", help="landing page: skip email-only checks")
    ] = False,
    timeout: Annotated[float | None, typer.Option(help="seconds per link request")] = None,
    allow_domain: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-domain",
            help="add to links.allow_domains (repeatable); fetch only the listed domains",
        ),
    ] = None,
) -> None:
    """Check emails and landing pages before they ship; exit code 1 when there are blockers.

    Checks links (HTTP unless --offline), UTMs against the taxonomy, unsubscribe link and postal
    address, List-Unsubscribe one-click headers (.eml), alt text, Gmail clipping size,
    personalization fallbacks, preheader and spam phrases. Severities come from preflight.yml.
    """
    from marketops.ops.preflight import HttpLinkChecker, load_document, run_preflight

    with user_errors():
        config, taxonomy = _config(workspace)
        links = config.links
        updates: dict[str, Any] = {}
        if timeout is not None:
            updates["timeout_s"] = timeout
        if allow_domain:
            extra = [d.strip().lower().removeprefix("*.") for d in allow_domain]
            updates["allow_domains"] = [*links.allow_domains, *extra]
        config = config.model_copy(update={"links": links.model_copy(update=updates)})
        docs = [load_document(f, page=page) for f in files]
        if offline:
            reports = [run_preflight(d, config, None, taxonomy=taxonomy) for d in docs]
        else:
            with HttpLinkChecker(
                timeout_s=config.links.timeout_s,
                max_redirects=config.links.max_redirects,
                concurrency=config.links.concurrency,
                user_agent=config.links.user_agent,
            ) as checker:
                reports = [run_preflight(d, config, checker, taxonomy=taxonomy) for d in docs]

    ok = all(r.can_ship for r in reports)
    if as_json:
        emit_json({"can_ship": ok, "reports": [r.to_dict() for r in reports]})
    else:
        for r in reports:
            _render(r)
    if not ok:
        raise typer.Exit(1)


def _render(report: Report) -> None:
    from rich.table import Table

    findings = report.sorted()
    if findings:
        t = Table(title=f"preflight {report.source}", title_justify="left", show_lines=False)
        for col in ("severity", "check", "where"):
            t.add_column(col, no_wrap=True)
        t.add_column("problem", overflow="fold")
        for f in findings:
            problem = escape(f.message)
            if f.element:
                problem += f"\n[dim]{escape(f.element)}[/]"
            if f.hint:
                problem += f"\n[italic]→ {escape(f.hint)}[/]"
            t.add_row(
                f"[{_STYLE.get(str(f.severity), '')}]{f.severity}[/]",
                f.check,
                escape(f.where),
                problem,
            )
        console.print(t)
    mode = report.stats.get("link_mode")
    counts = f"{len(report.blockers)} blocker(s), {len(report.warnings)} warning(s); links {mode}"
    if report.can_ship:
        console.print(f"[green]✓ {escape(report.source)} can ship[/] ({counts})")
    else:
        console.print(f"[bold red]✗ {escape(report.source)} cannot ship[/] ({counts})")


def register(app: typer.Typer) -> None:
    app.command("preflight")(preflight)
