"""`marketops identity …`: resolve people into identities, report, show, unmerge."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from marketops.cli._common import WorkspaceOpt, console, emit_json, table, user_errors

identity_app = typer.Typer(
    help="Identity resolution: who is the same person across leads.", no_args_is_help=True
)
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def register(app: typer.Typer) -> None:
    app.add_typer(identity_app, name="identity")


def _ctx(workspace: Path | None):  # -> AppContext (import deferred: fast --help)
    from marketops.services.context import AppContext
    from marketops.workspace import Workspace

    return AppContext.open(Workspace.load(workspace))


def _print_stats(stats: dict) -> None:
    secs = stats.get("seconds", {})
    console.print(
        f"{stats['records']:,} records -> {stats['identities']:,} identities "
        f"({stats['duplicates_per_1000']} duplicates per 1,000); "
        f"{stats.get('exact_links', 0):,} exact links, {stats.get('model_pairs', 0):,} model "
        f"pairs at or above the threshold"
        + (f"; {sum(v for v in secs.values() if isinstance(v, float)):.1f} s" if secs else "")
    )


@identity_app.command("resolve")
def resolve(
    workspace: WorkspaceOpt = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="cluster this CSV/JSON-lines/Parquet file, not the store"),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="with --file: where to write the clusters")
    ] = None,
    id_column: Annotated[
        str | None, typer.Option("--id-column", help="with --file: the record id column")
    ] = None,
    no_train: Annotated[
        bool, typer.Option("--no-train", help="reuse the last trained model instead of EM")
    ] = False,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            help="where Splink runs: duckdb or spark (default: identity.yml's engine.name)",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Cluster every lead in the store (or a file) into identities: exact rules, then Splink."""
    from marketops.errors import MarketopsError, Problem

    with user_errors():
        from marketops.identity.service import with_engine

        if file is not None:
            from marketops.identity.service import resolve_file
            from marketops.workspace import Workspace

            if out is None:
                raise MarketopsError("--file needs --out", [Problem("--out", "missing")])
            ws = Workspace.load(workspace)
            cfg = with_engine(ws.extra("identity.yml"), engine)
            stats = resolve_file(cfg, file, out, id_column=id_column)
        else:
            from marketops.identity.service import resolve_store

            ctx = _ctx(workspace)
            try:
                stats = resolve_store(ctx, datetime.now(UTC), train=not no_train, engine=engine)
            finally:
                ctx.close()
    if as_json:
        emit_json(stats)
    else:
        _print_stats(stats)
        if file is not None:
            console.print(f"clusters written to {out}")


@identity_app.command("report")
def report(
    workspace: WorkspaceOpt = None,
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="default: identity.yml's threshold")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Duplicates per 1,000 records and the share of identities whose links meet the threshold."""
    from marketops.identity.service import report as run

    with user_errors():
        ctx = _ctx(workspace)
        try:
            rep = run(ctx, threshold)
        finally:
            ctx.close()
    if as_json:
        emit_json(rep)
        return
    rows = [[k.replace("_", " "), v] for k, v in rep.items() if k != "links_by_method"]
    rows += [[f"links by {k}", v] for k, v in sorted(rep["links_by_method"].items())]
    console.print(table("identity resolution", ["measure", "value"], rows))


@identity_app.command("show")
def show(
    ident: Annotated[str, typer.Argument(help="an identity id or a member lead's id")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """An identity: golden record (and which member each value came from), members, merges."""
    from marketops.identity.service import show as run

    with user_errors():
        ctx = _ctx(workspace)
        try:
            data = run(ctx, ident)
        finally:
            ctx.close()
    if as_json:
        emit_json(data)
        return
    gold = data["golden"] or {}
    console.print(f"[bold]identity {data['id']}[/] ({data['size']} records)")
    console.print(
        table(
            "golden record",
            ["field", "value", "from lead", "rule"],
            [
                [k, v, gold.get("from", {}).get(k), gold.get("rules", {}).get(k)]
                for k, v in gold.get("values", {}).items()
            ],
        )
    )
    console.print(
        table(
            "members",
            ["lead", "method", "probability", "matched to", "linked at"],
            [
                [m["lead_id"], m["method"], m["match_probability"], m["matched_to"], m["linked_at"]]
                for m in data["members"]
            ],
        )
    )
    console.print(
        table(
            "merges (undo with `marketops identity unmerge ID`)",
            ["id", "kind", "actor", "at", "records", "undone"],
            [
                [
                    m["id"],
                    m["kind"],
                    m["actor"],
                    m["at"],
                    len(m["data"].get("moves", [])),
                    m["reverted_at"] or "",
                ]
                for m in data["merges"]
            ],
        )
    )


@identity_app.command("unmerge")
def unmerge(
    merge_id: Annotated[int, typer.Argument(help="the merge to undo (see `identity show`)")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Undo a recorded merge: its records go back to the identities they came from."""
    from marketops.identity.service import unmerge as run

    with user_errors():
        ctx = _ctx(workspace)
        try:
            out = run(ctx, merge_id, datetime.now(UTC), actor="cli")
        finally:
            ctx.close()
    if as_json:
        emit_json(out)
        return
    console.print(f"merge {merge_id} undone ({len(out['moved'])} records moved back)")
    for m in out["moved"]:
        console.print(f"  lead {m['lead_id']}: {m['from']} -> {m['to']}")
