"""init, validate, quickstart, sample: working with a workspace."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from marketops.cli._common import console, err_console, table, user_errors


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("validate")(validate)
    app.command("quickstart")(quickstart)
    app.command("sample")(sample)


def init(
    directory: Annotated[Path, typer.Argument(help="folder to create the workspace in")],
    force: Annotated[bool, typer.Option(help="overwrite existing files")] = False,
) -> None:
    """Write a working example workspace (settings, contract, scoring, routing, lifecycle, …)."""
    from marketops.workspace.scaffold import init_workspace

    with user_errors():
        written = init_workspace(directory, force=force)
    for p in written:
        console.print(f"  wrote {p}")
    console.print(f"[green]workspace ready[/]: next, `marketops validate {directory}`")


def validate(
    directory: Annotated[Path, typer.Argument(help="workspace folder")] = Path("."),
) -> None:
    """Check every workspace file; each problem with file, line and what to do."""
    from marketops.workspace import validate_workspace

    problems = validate_workspace(directory)
    if not problems:
        console.print(f"[green]✓[/] {directory.resolve()} is valid")
        return
    for p in problems:
        hint = f"\n    → {escape(p.hint)}" if p.hint else ""
        err_console.print(
            f"[red]✗[/] {escape(p.where)}: {escape(p.message)}{hint}",
            highlight=False,
            soft_wrap=True,
        )
    err_console.print(f"{len(problems)} problem(s)")
    raise typer.Exit(1)


def sample(
    out: Annotated[Path, typer.Argument(help="CSV file to write")],
    rows: Annotated[int, typer.Option("--rows", "-n")] = 10_000,
    seed: Annotated[int, typer.Option()] = 7,
) -> None:
    """Generate a realistic, seeded sample of leads (typos, duplicates, bad phones, gaps)."""
    from marketops.sample import write_csv

    write_csv(out, rows, seed)
    console.print(f"wrote {rows:,} rows to {out}")


def quickstart(
    directory: Annotated[Path, typer.Argument(help="folder for the demo workspace")] = Path("demo"),
    rows: Annotated[int, typer.Option("--rows", "-n")] = 10_000,
    seed: Annotated[int, typer.Option()] = 7,
) -> None:
    """Create a demo workspace, generate a sample of leads, ingest it and show what happened."""
    from marketops.cli.leads import print_summary, run_ingest
    from marketops.sample import write_csv
    from marketops.workspace.scaffold import init_workspace

    with user_errors():
        if not (directory / "marketops.yml").exists():
            init_workspace(directory)
            console.print(f"created workspace [bold]{directory}[/]")
        sample_path = directory / "data" / f"sample-{rows}-{seed}.csv"
        write_csv(sample_path, rows, seed, now=datetime.now(UTC))
        console.print(f"generated {rows:,} sample leads → {sample_path}")
        started = time.perf_counter()
        stats, ctx = run_ingest(directory, sample_path)
        print_summary(stats, time.perf_counter() - started)
        show_examples(ctx)
    console.print(
        f"\nnext: `marketops quarantine list -w {directory}`, `marketops keys create demo --scope ingest"
        f" --scope read -w {directory}` and `marketops serve -w {directory}` (API docs at /docs)"
    )


def show_examples(ctx) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from marketops.store.schema import leads

    with ctx.engine.connect() as conn:
        stages = conn.execute(
            select(leads.c.lifecycle_stage, func.count()).group_by(leads.c.lifecycle_stage)
        ).all()
        top = conn.execute(
            select(
                leads.c.id,
                leads.c.company,
                leads.c.title,
                leads.c.total_score,
                leads.c.lifecycle_stage,
                leads.c.queue,
                leads.c.owner,
            )
            .order_by(leads.c.total_score.desc())
            .limit(5)
        ).all()
    console.print(table("Leads by stage", ["stage", "leads"], [[s, f"{n:,}"] for s, n in stages]))
    console.print(
        table(
            "Top scored leads (PII omitted)",
            ["id", "company", "title", "score", "stage", "queue", "owner"],
            [list(r) for r in top],
        )
    )
