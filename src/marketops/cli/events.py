"""`marketops events …`: ingest Segment events (JSON lines), load costs, replay dead letters."""

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

events_app = typer.Typer(help="Segment-compatible events: ingest, costs, dead letters.")
BATCH = 1000


def register(app: typer.Typer) -> None:
    app.add_typer(events_app, name="events")


def _ctx(workspace: Path | None) -> Any:
    from marketops.services.context import AppContext

    return AppContext.open(load_workspace(workspace))


def read_jsonl(path: Path) -> list[Any]:
    """One event per line; a line that is not JSON is kept as a value the validator rejects."""
    import orjson

    if not path.exists():
        raise MarketopsError(f"{path}: file not found", [Problem(str(path), "file not found")])
    out: list[Any] = []
    with path.open("rb") as fh:
        for raw in fh:
            line = raw.strip()
            if not line:
                out.append(None)  # keeps line numbers; skipped below
                continue
            try:
                out.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                out.append({"_unparsed_line": line.decode("utf-8", "replace"), "_error": str(exc)})
    return out


@events_app.command("ingest")
def ingest_cmd(
    file: Annotated[Path, typer.Argument(help="JSON lines, one Segment event per line")],
    workspace: WorkspaceOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Validate and store events; invalid lines go to dead letters (exit code 1 if any)."""
    from marketops.events.service import IngestResult, ingest

    with user_errors():
        ctx = _ctx(workspace)
        lines = read_jsonl(file)
        total = IngestResult()
        numbered = [(i + 1, e) for i, e in enumerate(lines) if e is not None]
        for start in range(0, len(numbered), BATCH):
            part = numbered[start : start + BATCH]
            r = ingest(ctx, [e for _, e in part], source=file.name, now=datetime.now(UTC))
            total.accepted += r.accepted
            total.duplicates += r.duplicates
            total.touchpoints += r.touchpoints
            total.linked += r.linked
            for rej in r.rejected:
                rej.index = part[rej.index][0]  # report the file's line number
                total.rejected.append(rej)
        if as_json:
            emit_json(total.as_dict())
        else:
            console.print(
                f"{total.accepted:,} accepted, {total.duplicates:,} duplicates, "
                f"{total.touchpoints:,} touchpoints, {total.linked:,} ids linked, "
                f"{len(total.rejected):,} rejected"
            )
            for rej in total.rejected[:50]:
                errs = "; ".join(f"{e['field']}: {e['message']}" for e in rej.errors)
                console.print(f"  {file}:{rej.index}: {errs} (dead letter {rej.dead_letter_id})")
        if total.rejected:
            raise typer.Exit(1)


@events_app.command("costs")
def costs_cmd(
    file: Annotated[Path, typer.Argument(help="CSV/Parquet: campaign, channel, day, spend")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Load marketing spend (same format and checks as `marketops attribute --costs`)."""
    from marketops.events.service import load_costs

    with user_errors():
        n = load_costs(_ctx(workspace), file)
        console.print(f"{n:,} cost rows loaded")


@events_app.command("dead-letters")
def dead_letters_cmd(
    workspace: WorkspaceOpt = None,
    status: str = "open",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List invalid events kept for fixing and replay."""
    from marketops.events.service import dead_letters

    with user_errors():
        rows = dead_letters(_ctx(workspace), status=status, limit=1000)
        if as_json:
            emit_json(rows)
            return
        console.print(
            table(
                f"Dead letters ({status})",
                ["id", "source", "messageId", "errors", "created"],
                [
                    [
                        r["id"],
                        r["source"],
                        r["message_id"],
                        "; ".join(f"{e['field']}: {e['message']}" for e in r["errors"]),
                        r["created_at"],
                    ]
                    for r in rows
                ],
            )
        )


@events_app.command("replay")
def replay_cmd(
    workspace: WorkspaceOpt = None,
    id: Annotated[
        list[int] | None, typer.Option("--id", help="only this letter (repeatable)")
    ] = None,
    fixed: Annotated[
        Path | None, typer.Option(help="a corrected event (JSON) replacing the letter's payload")
    ] = None,
) -> None:
    """Re-ingest open dead letters; those that still fail stay open with their new errors."""
    import orjson

    from marketops.events.service import replay

    with user_errors():
        payload = None
        if fixed is not None:
            if not id or len(id) != 1:
                raise MarketopsError("--fixed needs exactly one --id", [Problem("--id", "missing")])
            payload = orjson.loads(fixed.read_bytes())
        r = replay(_ctx(workspace), datetime.now(UTC), ids=id, fixed=payload)
        console.print(f"{r.accepted:,} replayed, {len(r.rejected):,} still invalid")
        for rej in r.rejected:
            errs = "; ".join(f"{e['field']}: {e['message']}" for e in rej.errors)
            console.print(f"  dead letter {rej.dead_letter_id}: {errs}")
        if r.rejected:
            raise typer.Exit(1)


@events_app.command("relink")
def relink_cmd(workspace: WorkspaceOpt = None) -> None:
    """Link identify events whose email had no lead yet (run after capturing leads)."""
    from marketops.events.service import relink

    with user_errors():
        console.print(f"{relink(_ctx(workspace), datetime.now(UTC)):,} ids linked")
