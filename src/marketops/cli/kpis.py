"""`marketops report kpis`: funnel and revenue KPIs for a period (table, JSON or CSV)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from marketops.cli._common import WorkspaceOpt, console, load_workspace, user_errors
from marketops.errors import MarketopsError, Problem

report_app = typer.Typer(help="Reports.")


def register(app: typer.Typer) -> None:
    """Join the existing `report` group (cli/web.py owns it: `report scorecard`) if there is one;
    two groups with one name would shadow each other."""
    try:
        from marketops.cli.web import report_app as shared
    except ImportError:
        shared = None
    if shared is not None:
        shared.command("kpis")(kpis_cmd)
        return
    report_app.command("kpis")(kpis_cmd)
    app.add_typer(report_app, name="report")


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


def _fmt(v: object) -> str:
    if v is None:
        return "undefined"
    if isinstance(v, float):
        return f"{v:.4f}".rstrip("0").rstrip(".")
    return str(v)


def kpis_cmd(
    workspace: WorkspaceOpt = None,
    period: Annotated[
        str | None,
        typer.Option(help="2026-10, 2026-Q3, 2026, 2026-10-01..2026-10-31, this-month, last-month"),
    ] = None,
    now: Annotated[str | None, typer.Option(help="as-of time, ISO 8601 with zone")] = None,
    format: Annotated[str, typer.Option("--format", help="table, json or csv")] = "table",
    out: Annotated[Path | None, typer.Option(help="write JSON/CSV here instead of stdout")] = None,
    engine: Annotated[
        str | None,
        typer.Option(
            help="Ibis engine URL: duckdb:// (default), postgresql://…, pyspark://local[2]"
        ),
    ] = None,
) -> None:
    """Stage conversion (cohort and period), time in stage, velocity, LVR, pipeline, CAC, CLV, ROI."""
    import json

    from marketops.analytics.kpis.period import parse_period
    from marketops.analytics.kpis.service import report
    from marketops.services.context import AppContext

    with user_errors():
        if format not in ("table", "json", "csv"):
            raise MarketopsError(
                "bad --format", [Problem("--format", format, "table, json or csv")]
            )
        at = _now(now)
        ctx = AppContext.open(load_workspace(workspace))
        result = report(ctx, parse_period(period, at), at, engine_url=engine)
        if format == "table":
            from rich.table import Table

            p = result.period
            console.print(f"KPIs for {p.label}: {p.start:%Y-%m-%d} to {p.end:%Y-%m-%d} (exclusive)")
            for section in dict.fromkeys(k.section for k in result.kpis):
                t = Table(title=section, title_justify="left")
                for col in ("kpi", "of", "method", "value", "n"):
                    t.add_column(col, overflow="fold")
                for k in result.kpis:
                    if k.section != section:
                        continue
                    value = (
                        f"{_fmt(k.value)} {k.unit}"
                        if k.value is not None
                        else f"undefined: {k.undefined}"
                    )
                    n = "" if k.denominator is None else str(k.denominator)
                    t.add_row(k.name, k.label, k.method, value, n)
                console.print(t)
            for n in result.notes:
                console.print(f"note: {n}")
            return
        text = (
            json.dumps(result.as_dict(), indent=2, default=str) + "\n"
            if format == "json"
            else result.csv()
        )
        if out:
            out.write_text(text)
            console.print(f"wrote {out}")
        else:
            typer.echo(text, nl=False)
