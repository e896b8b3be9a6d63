"""`marketops health`: score the store (or a file) against the data contract; show the trend."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from marketops.cli._common import (
    WorkspaceOpt,
    console,
    emit_json,
    load_workspace,
    table,
    user_errors,
)
from marketops.errors import MarketopsError, Problem


def _now(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MarketopsError("--now is not a date-time", [Problem("--now", str(exc))]) from exc
    if value.tzinfo is None:
        raise MarketopsError("--now needs a time zone", [Problem("--now", "no offset", "add Z")])
    return value


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def _short(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def render(report: Any) -> None:
    console.print(
        f"[bold]Data health[/] of {report.source} ({report.rows:,} rows, engine {report.engine},"
        f" contract {report.contract_id}@{report.contract_version})"
        + (f", run {report.run_id}" if report.run_id else "")
    )
    console.print(
        table(
            "Dimensions",
            ["dimension", "score", "threshold", "checked", "failed", "status"],
            [
                [
                    d.dimension,
                    _pct(d.score),
                    _pct(d.threshold) if d.threshold is not None else "",
                    f"{d.checked:,}",
                    f"{d.failed:,}",
                    "[red]BREACH[/]" if d.breached else ("" if d.score is None else "ok"),
                ]
                for d in report.dimensions
            ],
        )
    )
    rows = []
    for f in report.fields:
        detail = ""
        if f.dimension == "validity":
            detail = ", ".join(f"{k} {v:,}" for k, v in f.details["failed_by_check"].items() if v)
        elif f.dimension == "uniqueness":
            detail = f"{f.details['duplicates_per_1000']} per 1,000"
        elif f.dimension == "timeliness":
            d = f.details
            detail = (
                f"newest {d['newest_age_days']} d, median {d['median_age_days']} d,"
                f" p90 {d['p90_age_days']} d"
            )
        rows.append(
            [f.dimension, f.field, _pct(f.score), f"{f.checked:,}", f"{f.failed:,}", detail]
        )
    console.print(
        table("Per field", ["dimension", "field", "score", "checked", "failed", ""], rows)
    )
    if report.alerts:
        console.print(f"[red]{report.alerts} alert(s) queued in the outbox[/]")
    for note in report.notes:
        console.print(f"[dim]note: {note}[/]")


def render_history(runs: list[dict], dims: tuple[str, ...]) -> None:
    console.print(
        table(
            "Data health trend, % (newest first)",
            ["run", "at (UTC)", "source", "rows", *[d[:5] for d in dims], "breaches"],
            [
                [
                    r["run_id"],
                    r["at"][:16].replace("T", " "),
                    r["source"],
                    f"{r['rows']:,}",
                    *[_short(r["scores"].get(d)) for d in dims],
                    ", ".join(r["breaches"]),
                ]
                for r in runs
            ],
        )
    )


def register(app: typer.Typer) -> None:
    @app.command("health")
    def health_cmd(
        file: Annotated[
            Path | None,
            typer.Option("--file", "-f", help="score a CSV/Parquet/JSON-lines file, not the store"),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
        history: Annotated[
            bool, typer.Option("--history", help="show the stored runs (the trend) instead")
        ] = False,
        limit: Annotated[int | None, typer.Option(help="runs shown by --history")] = None,
        field: Annotated[
            str | None,
            typer.Option(help="with --history: one field's trend, as DIMENSION:FIELD"),
        ] = None,
        engine: Annotated[
            str | None,
            typer.Option(
                help="Ibis engine for the store (default: PostgreSQL in place, else DuckDB)"
            ),
        ] = None,
        now: Annotated[str | None, typer.Option(help="measure as of (ISO, default: now)")] = None,
        save: Annotated[bool, typer.Option(help="store the run and raise alerts")] = True,
        fail_on_breach: Annotated[
            bool, typer.Option(help="exit with status 2 when a threshold is breached")
        ] = False,
        workspace: WorkspaceOpt = None,
    ) -> None:
        """Score data against the contract: completeness, validity, timeliness, uniqueness,
        consistency; per field, stored for the trend, alerting on breached thresholds."""
        from marketops.analytics.health import DIMENSIONS
        from marketops.analytics.health.service import run_health, run_history
        from marketops.services.context import AppContext

        with user_errors():
            ctx = AppContext.open(load_workspace(workspace))
            try:
                if history:
                    dim = fld = None
                    if field:
                        dim, _, fld = field.partition(":")
                        if dim not in DIMENSIONS or not fld:
                            raise MarketopsError(
                                "bad --field",
                                [
                                    Problem(
                                        "--field", field, "use DIMENSION:FIELD, e.g. validity:email"
                                    )
                                ],
                            )
                    runs = run_history(ctx, limit=limit, dimension=dim, field=fld)
                    if as_json:
                        emit_json(runs)
                    elif fld:
                        console.print(
                            table(
                                f"{dim} of {fld} (newest first)",
                                ["run", "at", "score", "failed"],
                                [
                                    [r["run_id"], r["at"][:19], _pct(r["score"]), r["failed"]]
                                    for r in runs
                                ],
                            )
                        )
                    else:
                        render_history(runs, DIMENSIONS)
                    return
                report = run_health(ctx, _now(now), file=file, engine_url=engine, save=save)
            finally:
                ctx.close()
        if as_json:
            emit_json(report.to_dict())
        else:
            render(report)
        if fail_on_breach and report.breaches:
            raise typer.Exit(2)
