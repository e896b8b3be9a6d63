"""`marketops stack audit`: utilization, waste, renewals, overlaps and the vendor scorecard."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from marketops.cli._common import (
    WorkspaceOpt,
    console,
    emit_json,
    load_workspace,
    table,
    user_errors,
)
from marketops.errors import MarketopsError, Problem

sub = typer.Typer(
    help="Audit the marketing tool stack declared in stack.yml.", no_args_is_help=True
)


def _load_stack(workspace: Path | None, file: Path | None) -> Any:
    from marketops.ops.stack.config import FILENAME, Stack
    from marketops.workspace.yamlfile import load_model

    if file is not None:
        return load_model(file, Stack)
    ws = load_workspace(workspace)
    if not ws.path(FILENAME).exists():
        raise MarketopsError(
            f"no {FILENAME} in the workspace",
            [
                Problem(
                    str(ws.path(FILENAME)),
                    "file not found",
                    "copy the example from `marketops init` or see docs/stack-audit.md",
                )
            ],
        )
    return ws.extra(FILENAME)


def _pct(x: Any) -> str:
    return "" if x is None else f"{x * 100:.0f}%"


@sub.command("audit")
def audit_cmd(
    workspace: WorkspaceOpt = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", "-f", help="audit this stack.yml instead of the workspace's", dir_okay=False
        ),
    ] = None,
    today: Annotated[
        str | None,
        typer.Option(help="audit as of this date (YYYY-MM-DD; default: today)", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="exit 1 when there is any finding (for CI)")
    ] = False,
) -> None:
    """Utilization (< threshold flagged), cost per active user, waste, renewals, overlaps,
    tools without integrations and the weighted vendor scorecard."""
    from marketops.ops.stack import audit_stack

    with user_errors():
        try:
            as_of = date.fromisoformat(today) if today else date.today()
        except ValueError as exc:
            raise MarketopsError(
                "--today is not a date", [Problem("--today", f"{today!r} is not YYYY-MM-DD")]
            ) from exc
        stack = _load_stack(workspace, file)
        result = audit_stack(stack, as_of)
    if as_json:
        emit_json(result.as_dict())
    else:
        _render(result)
    if strict and result.findings:
        raise typer.Exit(1)


def _render(r: Any) -> None:
    cur = r.currency
    rows = [
        [
            t.name,
            f"{t.annual_cost:,}",
            (f"{t.active_users}/{t.seats} " + _pct(t.utilization) + (" ⚠" if t.underused else ""))
            if t.seats
            else f"{t.active_users} users",
            "" if t.cost_per_active_user is None else f"{t.cost_per_active_user:,}",
            f"{t.waste:,}" if t.waste else "",
            f"{t.renewal_date}" + (" ⚠" if t.renewal_due or t.renewal_passed else ""),
        ]
        for t in r.tools
    ]
    console.print(
        _table(
            f"Tool stack as of {r.today} ({cur} per year)",
            ["tool", "cost", "active/seats", "per active user", "waste", "renews"],
            rows,
        )
    )
    rows = [
        [
            t.name,
            t.category,
            t.owner,
            ", ".join(t.integrations) or "none ⚠",
            "" if t.score is None else f"{t.score}" + ("" if t.score_complete else " (partial)"),
        ]
        for t in r.tools
    ]
    console.print(
        _table(
            "Ownership, integrations and scorecard",
            ["tool", "category", "owner", "integrations", f"score 0-{r.scale_max}"],
            rows,
        )
    )
    console.print(
        f"Total {r.total_annual_cost:,} {cur}/year, of which {r.total_waste:,} "
        f"{cur} pays for unused seats."
    )
    if r.ranking:
        crit = ", ".join(f"{t.name} {t.score}" for t in r.ranking)
        console.print(f"Vendor scorecard (weighted, 0-{r.scale_max}): {escape(crit)}")
    if r.findings:
        console.print("[bold]Findings[/]")
        for f in r.findings:
            console.print(f"  • {escape(f)}")


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Any:
    """Cells hold user data (tool, metric, variant names): never let Rich read them as markup."""
    return table(escape(title), columns, [[escape(str(c)) for c in r] for r in rows])


def register(app: typer.Typer) -> None:
    app.add_typer(sub, name="stack")
