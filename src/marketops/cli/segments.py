"""`marketops segment …`: list, preview, show, members, refresh, recompute, import, pending."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from marketops.cli._common import WorkspaceOpt, console, emit_json, table, user_errors

segment_app = typer.Typer(
    help="Segments and static lists: audiences kept current from segments.yml.",
    no_args_is_help=True,
)
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def register(app: typer.Typer) -> None:
    app.add_typer(segment_app, name="segment")


def _ctx(workspace: Path | None):  # -> AppContext (import deferred: fast --help)
    from marketops.services.context import AppContext
    from marketops.workspace import Workspace

    return AppContext.open(Workspace.load(workspace))


def _now() -> datetime:
    return datetime.now(UTC)


def _with_ctx(workspace: Path | None, fn: Callable[[Any], Any]) -> Any:
    """Open the store, run `fn(ctx)`, close it; user errors become a message and exit code 1."""
    with user_errors():
        ctx = _ctx(workspace)
        try:
            return fn(ctx)
        finally:
            ctx.close()


@segment_app.command("list")
def list_cmd(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Every segment and list with its stored member count."""
    from marketops.segments.service import list_segments

    rows = _with_ctx(workspace, lambda ctx: list_segments(ctx))
    if as_json:
        emit_json(rows)
        return
    console.print(
        table(
            "segments",
            ["name", "kind", "suppression", "members", "description"],
            [
                [
                    r["name"],
                    r["kind"],
                    "yes" if r["suppression"] else "",
                    r["members"],
                    r["description"],
                ]
                for r in rows
            ],
        )
    )


@segment_app.command("preview")
def preview_cmd(
    name: Annotated[str | None, typer.Argument(help="a segment in segments.yml")] = None,
    workspace: WorkspaceOpt = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="a YAML snippet with `rule:` (not yet saved)")
    ] = None,
    sample: Annotated[int, typer.Option("--sample", min=0, max=1000)] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Evaluate a segment now (saved or from --file): count and a sample of members."""
    from marketops.errors import MarketopsError, Problem
    from marketops.segments import service

    def run(ctx: Any) -> dict[str, Any]:
        if file is not None:
            from marketops.workspace.yamlfile import read_yaml

            data, node = read_yaml(file)
            if name and isinstance(data, dict):
                data = {"name": name, **data}
            definition = service.parse_definition(data, str(file), service.config(ctx), node)
        elif name:
            definition = service.find(ctx, name)
        else:
            raise MarketopsError(
                "what to preview?", [Problem("NAME", "missing", "give a segment name or --file")]
            )
        return service.preview(ctx, definition, _now(), sample)

    out = _with_ctx(workspace, run)
    if as_json:
        emit_json(out)
        return
    console.print(f"[bold]{out['name']}[/]: {out['count']:,} member(s)")
    if out["sample"]:
        cols = list(out["sample"][0])
        console.print(
            table(
                f"sample ({len(out['sample'])})",
                cols,
                [[r[c] for c in cols] for r in out["sample"]],
            )
        )


@segment_app.command("show")
def show_cmd(
    name: str,
    workspace: WorkspaceOpt = None,
    sql: Annotated[
        bool, typer.Option("--sql", help="also print the SQL the rule compiles to")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """A segment's definition and stored member count (and its SQL)."""
    from marketops.segments import service

    def run(ctx: Any) -> dict[str, Any]:
        out = service.show(ctx, name)
        if sql and out["kind"] == "segment":
            from marketops.segments.sql import to_sql

            out["sql"] = to_sql(service.find(ctx, name), _now())
        return out

    out = _with_ctx(workspace, run)
    if as_json:
        emit_json(out)
        return
    import yaml

    console.print(yaml.safe_dump(out, sort_keys=False, allow_unicode=True), highlight=False)


@segment_app.command("members")
def members_cmd(
    name: str,
    workspace: WorkspaceOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 100,
    after: Annotated[str | None, typer.Option("--after", help="page after this lead id")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Stored members of a segment or list (lead id, since, source), paged by lead id."""
    from marketops.segments import service

    page = _with_ctx(
        workspace, lambda ctx: service.members_page(ctx, name, after=after, limit=limit)
    )
    if as_json:
        emit_json(page)
        return
    console.print(
        table(
            name,
            ["lead_id", "since", "source"],
            [[m["lead_id"], m["since"], m["source"]] for m in page["members"]],
        )
    )
    if page["next"]:
        console.print(f"more: --after {page['next']}")


@segment_app.command("refresh")
def refresh_cmd(workspace: WorkspaceOpt = None) -> None:
    """Bring membership up to date incrementally (what the worker job does every 30 s)."""
    from marketops.segments.service import refresh

    n = _with_ctx(workspace, lambda ctx: refresh(ctx, _now()))
    console.print(f"{n:,} membership change(s)")


@segment_app.command("recompute")
def recompute_cmd(
    names: Annotated[list[str] | None, typer.Argument(help="segments (default: all)")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-evaluate segments over the whole store on DuckDB and write the differences."""
    from marketops.segments.service import recompute

    out = _with_ctx(workspace, lambda ctx: recompute(ctx, _now(), names or None))
    if as_json:
        emit_json(out)
        return
    console.print(
        table(
            "recompute",
            ["segment", "members", "entered", "exited"],
            [[k, v["members"], v["entered"], v["exited"]] for k, v in out.items()],
        )
    )


@segment_app.command("import")
def import_cmd(
    list_name: Annotated[str, typer.Argument(metavar="LIST")],
    file: Path,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a CSV's people (column `email` or `lead_id`) to a static list; rows matching no lead
    are reported with their row number and kept (retried on every refresh)."""
    from marketops.segments.imports import import_list

    out = _with_ctx(workspace, lambda ctx: import_list(ctx, list_name, file, _now()))
    if as_json:
        emit_json(out)
        return
    console.print(
        f"{out['rows']:,} row(s): {out['added']:,} added, {out['already']:,} already on {list_name}, "
        f"{len(out['pending']):,} kept for later (no matching lead)"
    )
    for p in out["pending"][:50]:
        console.print(f"  row {p['row']}: {p['reason']}")
    if len(out["pending"]) > 50:
        console.print(
            f"  … and {len(out['pending']) - 50} more: `marketops segment pending {list_name}`"
        )


@segment_app.command("pending")
def pending_cmd(
    list_name: Annotated[str | None, typer.Argument(metavar="[LIST]")] = None,
    workspace: WorkspaceOpt = None,
    replay: Annotated[bool, typer.Option("--replay", help="retry matching them now")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Imported rows that matched no lead yet (kept, retried on every refresh)."""
    from marketops.segments.imports import pending, replay_pending

    matched, rows = _with_ctx(
        workspace,
        lambda ctx: (
            replay_pending(ctx, _now(), list_name) if replay else None,
            pending(ctx, list_name),
        ),
    )
    if as_json:
        emit_json({"matched": matched, "pending": rows})
        return
    if matched is not None:
        console.print(f"{matched:,} row(s) matched a lead and joined their list")
    console.print(
        table(
            "pending import rows",
            ["list", "file", "row", "email", "lead_id", "reason"],
            [
                [r["list"], r["source"], r["row_number"], r["email"], r["lead_ref"], r["reason"]]
                for r in rows
            ],
        )
    )
