"""`marketops release …`: the next trains with room, freeze checks, and the windows calendar."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from marketops.cli._common import WorkspaceOpt, console, emit_json, err_console, table, user_errors
from marketops.cli.calendars import instant, workspace_root
from marketops.errors import MarketopsError, Problem

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
DurationOpt = Annotated[str, typer.Option("--duration", help="launch length, e.g. 30m, 1h, PT2H")]
EXIT_BLOCKED = 2


def _releases(workspace: Path | None):  # -> ReleaseCalendar
    from marketops.ops.releases import load_releases

    return load_releases(workspace_root(workspace))


def _duration(text: str) -> dt.timedelta:
    from marketops.ops.calendars.timeparse import parse_duration

    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise MarketopsError(f"--duration: {exc}", [Problem("--duration", str(exc))]) from exc
    if value < dt.timedelta(0):
        raise MarketopsError("--duration must not be negative", [Problem("--duration", text)])
    return value


def read_bookings(path: Path, default_zone: str, trains: set[str]) -> list:  # -> list[Booking]
    """Bookings from a CSV with columns `at,train[,ref]`; every bad row is reported, none dropped."""
    from marketops.ops.calendars.timeparse import parse_instant
    from marketops.ops.releases import Booking

    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise MarketopsError(f"cannot read {path}", [Problem(str(path), str(exc))]) from exc
    out, problems = [], []
    for line, row in enumerate(rows, start=2):
        where = f"{path}:{line}"
        if "at" not in row or row["at"] is None:
            problems.append(Problem(where, "column `at` is missing", "header: at,train,ref"))
            continue
        try:
            at = parse_instant(row["at"], default_zone)
        except ValueError as exc:
            problems.append(Problem(f"{where} at", str(exc)))
            continue
        train = (row.get("train") or "").strip() or None
        if train is not None and train not in trains:
            problems.append(
                Problem(
                    f"{where} train",
                    f"unknown train {train!r}",
                    f"known: {', '.join(sorted(trains))}",
                )
            )
            continue
        out.append(Booking(at=at, train=train, ref=(row.get("ref") or "").strip()))
    if problems:
        raise MarketopsError(f"{path}: {len(problems)} bad booking row(s)", problems)
    return out


def _local(value: dt.datetime, zone: dt.tzinfo) -> str:
    return value.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z")


def register(app: typer.Typer) -> None:
    sub = typer.Typer(help="Release trains and change freezes.", no_args_is_help=True)

    @sub.command("next")
    def next_(
        after: Annotated[
            str | None,
            typer.Option(
                "--after", help="ISO instant (default: now); no offset = releases.yml timezone"
            ),
        ] = None,
        duration: DurationOpt = "0m",
        count: Annotated[int, typer.Option("--count", min=1, help="how many trains")] = 5,
        train: Annotated[str | None, typer.Option("--train", help="only this train")] = None,
        bookings: Annotated[
            Path | None,
            typer.Option("--bookings", help="CSV of launches already booked: at,train[,ref]"),
        ] = None,
        workspace: WorkspaceOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """The next release trains with free capacity."""
        from zoneinfo import ZoneInfo

        with user_errors():
            releases = _releases(workspace)
            tz = releases.model.timezone
            start = instant(after, "--after", tz) if after else dt.datetime.now(dt.UTC)
            names = {t.item.name for t in releases.trains}
            booked = read_bookings(bookings, tz, names) if bookings else []
            slots = releases.upcoming_trains(
                start, booked, _duration(duration), count=count, train=train
            )
        if as_json:
            emit_json(
                [
                    {
                        "train": s.train,
                        "window_start": s.window_start.isoformat(),
                        "window_end": s.window_end.isoformat(),
                        "launch_at": s.launch_at.isoformat(),
                        "capacity": s.capacity,
                        "booked": s.booked,
                        "free": s.free,
                    }
                    for s in slots
                ]
            )
        else:
            zone = ZoneInfo(tz)
            console.print(
                table(
                    f"next trains ({tz})",
                    ["train", "launch at", "window ends", "free / capacity"],
                    [
                        [
                            s.train,
                            _local(s.launch_at, zone),
                            _local(s.window_end, zone),
                            f"{s.free} / {s.capacity}",
                        ]
                        for s in slots
                    ],
                )
            )
        if not slots:
            err_console.print("no release window with free capacity in the next year")
            raise typer.Exit(1)

    @sub.command("check")
    def check(
        at: Annotated[str, typer.Option("--at", help="ISO launch time; no offset = file zone")],
        duration: DurationOpt = "0m",
        override_reason: Annotated[
            str | None,
            typer.Option(
                "--override-reason", help="launch inside a freeze anyway; recorded for audit"
            ),
        ] = None,
        workspace: WorkspaceOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """May a launch go out at --at? Exits 2 when a freeze blocks it."""
        from zoneinfo import ZoneInfo

        with user_errors():
            releases = _releases(workspace)
            tz = releases.model.timezone
            verdict = releases.check_launch(
                instant(at, "--at", tz), _duration(duration), override_reason
            )
        if as_json:
            emit_json(
                {
                    "at": verdict.at.isoformat(),
                    "allowed": verdict.allowed,
                    "overridden": verdict.overridden,
                    "override_reason": verdict.override_reason,
                    "blocked_by": [
                        {
                            "name": w.name,
                            "start": w.start.isoformat(),
                            "end": w.end.isoformat(),
                            "reason": w.reason,
                        }
                        for w in verdict.blocked_by
                    ],
                    "train": verdict.train_window.name if verdict.train_window else None,
                }
            )
        else:
            zone = ZoneInfo(tz)
            for w in verdict.blocked_by:
                console.print(
                    f"freeze [bold]{w.name}[/] {_local(w.start, zone)} → "
                    f"{_local(w.end, zone)}" + (f": {w.reason}" if w.reason else ""),
                    highlight=False,
                )
            if verdict.overridden:
                console.print(
                    f"[yellow]ALLOWED BY OVERRIDE[/]: {verdict.override_reason}", highlight=False
                )
            elif verdict.allowed:
                where = (
                    f"in the {verdict.train_window.name} train window"
                    if verdict.train_window
                    else "outside any release window"
                )
                console.print(f"[green]allowed[/] ({where})", highlight=False)
            else:
                console.print(
                    "[red]BLOCKED[/] by a change freeze; pass --override-reason to launch anyway",
                    highlight=False,
                )
        if not verdict.allowed:
            raise typer.Exit(EXIT_BLOCKED)

    @sub.command("windows")
    def windows(
        start: Annotated[str, typer.Option("--from", help="ISO start; no offset = file zone")],
        end: Annotated[str, typer.Option("--to", help="ISO end; no offset = file zone")],
        workspace: WorkspaceOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Release windows and freezes between --from and --to."""
        from zoneinfo import ZoneInfo

        with user_errors():
            releases = _releases(workspace)
            tz = releases.model.timezone
            a, b = instant(start, "--from", tz), instant(end, "--to", tz)
            if b <= a:
                raise MarketopsError("--to must be after --from", [Problem("--to", end)])
            found = releases.windows(a, b)
        if as_json:
            emit_json(
                [
                    {
                        "kind": w.kind,
                        "name": w.name,
                        "start": w.start.isoformat(),
                        "end": w.end.isoformat(),
                        "capacity": w.capacity or None,
                        "reason": w.reason or None,
                    }
                    for w in found
                ]
            )
            return
        zone = ZoneInfo(tz)
        console.print(
            table(
                f"release windows and freezes ({tz})",
                ["kind", "name", "start", "end", "capacity / reason"],
                [
                    [
                        w.kind,
                        w.name,
                        _local(w.start, zone),
                        _local(w.end, zone),
                        w.capacity if w.kind == "train" else w.reason,
                    ]
                    for w in found
                ],
            )
        )

    app.add_typer(sub, name="release")
