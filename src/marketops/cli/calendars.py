"""`marketops calendar …`: due times and business time on the workspace's calendars."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated

import typer

from marketops.cli._common import WorkspaceOpt, console, emit_json, table, user_errors
from marketops.errors import MarketopsError, Problem, WorkspaceError

CalendarOpt = Annotated[str, typer.Option("--calendar", "-c", help="calendar name (or 24x7)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


def workspace_root(path: Path | None) -> Path:
    """The workspace folder, checked to be one; only our own file is loaded from it.

    Computing a due time needs calendars.yml alone, so a problem in another workspace file
    (scoring, routing, …) must not stop it; `marketops validate` reports those.
    """
    from marketops.workspace import ENV_WORKSPACE, SETTINGS_FILE

    root = Path(path or os.environ.get(ENV_WORKSPACE) or ".").resolve()
    if not (root / SETTINGS_FILE).exists():
        raise WorkspaceError(
            f"{root} is not a marketops workspace",
            [
                Problem(
                    str(root / SETTINGS_FILE),
                    "file not found",
                    "run `marketops init DIR` to create a workspace, or pass --workspace",
                )
            ],
        )
    return root


def instant(text: str, option: str, default_zone: str) -> dt.datetime:
    """An ISO date-time from the command line; without an offset it is local to `default_zone`."""
    from marketops.ops.calendars.timeparse import parse_instant

    try:
        return parse_instant(text, default_zone)
    except ValueError as exc:
        raise MarketopsError(f"{option}: {exc}", [Problem(option, str(exc))]) from exc


def _calendar(workspace: Path | None, name: str):  # -> BusinessCalendar
    from marketops.ops.calendars import CALENDARS_FILE, load_calendars

    calendars = load_calendars(workspace_root(workspace))
    if name not in calendars:
        raise MarketopsError(
            f"unknown calendar {name!r}",
            [
                Problem(
                    f"{CALENDARS_FILE}",
                    f"no calendar named {name!r}",
                    f"known: {', '.join(sorted(calendars))}",
                )
            ],
        )
    return calendars[name]


def _both(value: dt.datetime, zone: dt.tzinfo) -> dict[str, str]:
    return {"utc": value.isoformat(), "local": value.astimezone(zone).isoformat()}


def register(app: typer.Typer) -> None:
    sub = typer.Typer(
        help="Business-hours calendars: due times, business time, open hours.", no_args_is_help=True
    )

    @sub.command("list")
    def list_(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
        """List the calendars and their open hours per week."""
        from marketops.ops.calendars import load_calendars
        from marketops.ops.calendars.models import WEEKDAYS

        with user_errors():
            calendars = load_calendars(workspace_root(workspace))
        rows = []
        for cal in calendars.values():
            week = ", ".join(
                f"{day} "
                + " ".join(
                    f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}" for s, e in cal.week[i]
                )
                for i, day in enumerate(WEEKDAYS)
                if cal.week[i]
            )
            rows.append(
                {
                    "name": cal.name,
                    "timezone": cal.timezone,
                    "hours": "always open" if cal.always_open else week,
                }
            )
        if as_json:
            emit_json(rows)
        else:
            console.print(
                table("calendars", ["name", "timezone", "hours"], [list(r.values()) for r in rows])
            )

    @sub.command("due")
    def due(
        calendar: CalendarOpt,
        start: Annotated[str, typer.Option("--from", help="ISO start; no offset = calendar zone")],
        hours: Annotated[float, typer.Option("--hours", min=0, help="business hours to add")],
        workspace: WorkspaceOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """The due time: N business hours after --from."""
        with user_errors():
            cal = _calendar(workspace, calendar)
            begin = instant(start, "--from", cal.timezone)
            duration = dt.timedelta(hours=hours)
            due_at = cal.add_business_time(begin, duration)
        result = {
            "calendar": cal.name,
            "from": _both(begin, cal.zone),
            "hours": hours,
            "due": _both(due_at, cal.zone),
        }
        if as_json:
            emit_json(result)
            return
        console.print(
            f"due [bold]{due_at.astimezone(cal.zone).isoformat()}[/] "
            f"({due_at.isoformat()}) on calendar {cal.name}",
            highlight=False,
        )

    @sub.command("between")
    def between(
        calendar: CalendarOpt,
        start: Annotated[str, typer.Option("--from", help="ISO start; no offset = calendar zone")],
        end: Annotated[str, typer.Option("--to", help="ISO end; no offset = calendar zone")],
        workspace: WorkspaceOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Business time between --from and --to."""
        from marketops.ops.calendars.timeparse import format_duration

        with user_errors():
            cal = _calendar(workspace, calendar)
            a, b = instant(start, "--from", cal.timezone), instant(end, "--to", cal.timezone)
            spent = cal.business_time_between(a, b)
        hours = spent.total_seconds() / 3600
        if as_json:
            emit_json(
                {
                    "calendar": cal.name,
                    "from": _both(a, cal.zone),
                    "to": _both(b, cal.zone),
                    "seconds": spent.total_seconds(),
                    "hours": hours,
                }
            )
            return
        console.print(
            f"{format_duration(spent)} ({hours:g} business hours) on calendar {cal.name}",
            highlight=False,
        )

    @sub.command("status")
    def status(
        calendar: CalendarOpt,
        at: Annotated[str, typer.Option("--at", help="ISO instant; no offset = calendar zone")],
        workspace: WorkspaceOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Is the calendar open at --at, and when does it next open?"""
        with user_errors():
            cal = _calendar(workspace, calendar)
            t = instant(at, "--at", cal.timezone)
            is_open, nxt = cal.is_open(t), cal.next_open(t)
        if as_json:
            emit_json(
                {
                    "calendar": cal.name,
                    "at": _both(t, cal.zone),
                    "open": is_open,
                    "next_open": _both(nxt, cal.zone),
                }
            )
            return
        word = "open" if is_open else f"closed; opens {nxt.astimezone(cal.zone).isoformat()}"
        console.print(f"{cal.name}: {word}", highlight=False)

    @sub.command("sla")
    def sla(
        calendar: CalendarOpt,
        target: Annotated[str, typer.Option("--target", help="goal, e.g. 4h, 2d, PT30M")],
        events: Annotated[Path, typer.Option("--events", help="CSV with a header: at,event")],
        start: Annotated[list[str], typer.Option("--start", help="event that starts a cycle")],
        stop: Annotated[list[str], typer.Option("--stop", help="event that stops the cycle")],
        pause: Annotated[list[str] | None, typer.Option("--pause", help="pausing event")] = None,
        resume: Annotated[list[str] | None, typer.Option("--resume", help="resuming event")] = None,
        now: Annotated[str | None, typer.Option("--now", help="ISO instant (default: now)")] = None,
        workspace: WorkspaceOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Replay an issue's events through an SLA clock (Jira Service Management semantics)."""
        from marketops.ops.calendars import evaluate_sla, load_calendars
        from marketops.ops.calendars.timeparse import format_duration

        with user_errors():
            calendars = load_calendars(workspace_root(workspace))
            spec = _goal_spec(calendar, target, start, stop, pause or [], resume or [])
            goal = spec.compile(calendars, where="--calendar")
            cal = goal.calendar
            log = read_events(events, cal.timezone)
            as_of = instant(now, "--now", cal.timezone) if now else dt.datetime.now(dt.UTC)
            status = evaluate_sla(goal, log, as_of)
        rows = [
            {
                "cycle": c.index,
                "state": c.state,
                "started_at": c.started_at.isoformat(),
                "stopped_at": c.stopped_at.isoformat() if c.stopped_at else None,
                "elapsed_seconds": c.elapsed.total_seconds(),
                "remaining_seconds": c.remaining.total_seconds(),
                "breached": c.breached,
                "breach_at": c.breach_at.isoformat() if c.breach_at else None,
            }
            for c in status.cycles
        ]
        if as_json:
            emit_json(
                {"goal": format_duration(goal.target), "now": as_of.isoformat(), "cycles": rows}
            )
            return
        zone = cal.zone
        console.print(
            table(
                f"SLA {format_duration(goal.target)} on {cal.name} as of "
                f"{as_of.astimezone(zone):%Y-%m-%d %H:%M %Z}",
                ["cycle", "state", "elapsed", "remaining", "breached", "breach at"],
                [
                    [
                        c.index,
                        c.state,
                        format_duration(c.elapsed),
                        format_duration(c.remaining),
                        "yes" if c.breached else "no",
                        f"{c.breach_at.astimezone(zone):%Y-%m-%d %H:%M %Z}" if c.breach_at else "",
                    ]
                    for c in status.cycles
                ],
            )
        )

    app.add_typer(sub, name="calendar")


def _goal_spec(
    calendar: str,
    target: str,
    start: list[str],
    stop: list[str],
    pause: list[str],
    resume: list[str],
):  # -> SlaGoalSpec
    from pydantic import ValidationError

    from marketops.ops.calendars import SlaGoalSpec

    try:
        return SlaGoalSpec(
            name="cli",
            calendar=calendar,
            target=target,
            start=start,
            stop=stop,
            pause=pause,
            resume=resume,
        )
    except ValidationError as exc:
        problems = [
            Problem("--" + ".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()
        ]
        raise MarketopsError("the SLA goal is not valid", problems) from exc


def read_events(path: Path, default_zone: str) -> list[tuple[dt.datetime, str]]:
    """An event log from a CSV `at,event`; every bad row is reported with its line, none dropped."""
    import csv

    from marketops.ops.calendars.timeparse import parse_instant

    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise MarketopsError(f"cannot read {path}", [Problem(str(path), str(exc))]) from exc
    out, problems = [], []
    for line, row in enumerate(rows, start=2):
        where = f"{path}:{line}"
        name = (row.get("event") or "").strip()
        if not name:
            problems.append(Problem(f"{where} event", "no event name", "header: at,event"))
            continue
        try:
            out.append((parse_instant(row.get("at") or "", default_zone), name))
        except ValueError as exc:
            problems.append(Problem(f"{where} at", str(exc)))
    if problems:
        raise MarketopsError(f"{path}: {len(problems)} bad event row(s)", problems)
    return out
