"""journey list|show|new|templates|publish|pause|resume|stop|retry|status|enrol|simulate|tick."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from marketops.cli._common import WorkspaceOpt, console, emit_json, table, user_errors
from marketops.cli.leads import _ctx

journey_app = typer.Typer(
    help="Journeys: multi-step programmes people enter on a trigger.", no_args_is_help=True
)
JsonOpt = Annotated[bool, typer.Option("--json")]


def register(app: typer.Typer) -> None:
    app.add_typer(journey_app, name="journey")


def _now() -> datetime:
    return datetime.now(UTC)


def _instant(value: str, option: str) -> datetime:
    from marketops.errors import MarketopsError, Problem

    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise MarketopsError(
            "bad date", [Problem(option, value, "ISO 8601, e.g. 2026-01-01 or 2026-01-01T09:00Z")]
        ) from exc
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@journey_app.command("list")
def list_cmd(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Every journey in the workspace: published state, version, entry trigger, people inside."""
    from marketops.journeys.service import list_journeys

    with user_errors():
        rows = list_journeys(_ctx(workspace))
    if as_json:
        emit_json(rows)
        return
    console.print(
        table(
            "Journeys",
            ["name", "status", "version", "entry", "template", "inside", "problem"],
            [
                [
                    r["name"],
                    r["status"],
                    r["version"],
                    r["entry"],
                    r["from_template"],
                    r["active"],
                    r["problem"],
                ]
                for r in rows
            ],
        )
    )


@journey_app.command("show")
def show_cmd(name: str, workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """The journey's steps and published versions (and whether the file has unpublished changes)."""
    from marketops.journeys.service import show

    with user_errors():
        out = show(_ctx(workspace), name)
    if as_json:
        emit_json(out)
        return
    d = out["definition"]
    changed = " (file has unpublished changes)" if out["unpublished_changes"] else ""
    console.print(f"[bold]{name}[/]: {out['status']}, version {out['version'] or '-'}{changed}")
    console.print(f"entry: {d['entry']}")
    for s in d["steps"]:
        kind = next(k for k in s if k not in ("id", "next", "on_event", "on_timeout"))
        console.print(f"  {s['id']}: {kind} {s[kind]}")
    for g in d.get("goals", []):
        console.print(f"goal: {g}")
    if out["versions"]:
        console.print(
            table(
                "Versions",
                ["version", "published", "by", "people inside", "hash"],
                [
                    [
                        v["version"],
                        f"{v['published_at']:%Y-%m-%d %H:%M}",
                        v["published_by"],
                        v["active"],
                        v["content_hash"][:12],
                    ]
                    for v in out["versions"]
                ],
            )
        )


@journey_app.command("templates")
def templates_cmd(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """The built-in templates, their parameters, and how many journeys use each."""
    from marketops.journeys.templates import builtin, reuse
    from marketops.workspace import Workspace

    with user_errors():
        root = Workspace.load(workspace).root
        counts = reuse(root)
    temps = builtin()
    if as_json:
        emit_json(
            {
                "templates": {
                    n: {
                        "version": t.template_version,
                        "description": t.description,
                        "params": {k: p.model_dump() for k, p in t.params.items()},
                        "used_by": counts["by_template"].get(n, 0),
                    }
                    for n, t in temps.items()
                },
                "reuse": counts,
            }
        )
        return
    console.print(
        table(
            "Journey templates",
            ["template", "version", "used by", "parameters (default)", "what it does"],
            [
                [
                    n,
                    t.template_version,
                    counts["by_template"].get(n, 0),
                    ", ".join(f"{k}={p.default}" for k, p in t.params.items()),
                    t.description,
                ]
                for n, t in temps.items()
            ],
        )
    )
    console.print(
        f"{counts['from_template']} of {counts['journeys']} journeys started from a template"
    )


@journey_app.command("new")
def new_cmd(
    name: str,
    from_: Annotated[
        str, typer.Option("--from", help="built-in template (see `journey templates`)")
    ],
    set_: Annotated[list[str] | None, typer.Option("--set", help="key=value (repeatable)")] = None,
    force: Annotated[bool, typer.Option(help="overwrite an existing file")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Copy a built-in template into journeys/NAME.yml with your parameter values."""
    from marketops.errors import MarketopsError, Problem
    from marketops.journeys.templates import new
    from marketops.workspace import Workspace

    with user_errors():
        values = {}
        for item in set_ or []:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise MarketopsError("bad --set", [Problem("--set", item, "use key=value")])
            values[key.strip()] = value
        path = new(Workspace.load(workspace).root, name, from_, values, force=force)
    console.print(f"wrote {path}; check it, then `marketops journey publish {name}`")


@journey_app.command("publish")
def publish_cmd(
    name: str,
    by: Annotated[str, typer.Option("--by", help="who publishes")] = "cli",
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Snapshot the file as the next version (nothing if unchanged); people inside stay on theirs."""
    from marketops.journeys.versions import publish

    with user_errors():
        out = publish(_ctx(workspace), name, now=_now(), by=by)
    if as_json:
        emit_json(out)
    elif out["published"]:
        extra = f"; {out['migrated']} people migrated" if out["migrated"] else ""
        console.print(f"{name}: published version {out['version']}{extra}")
    else:
        console.print(f"{name}: unchanged since version {out['version']}; nothing published")


def _state_cmd(action: str):  # type: ignore[no-untyped-def]
    def cmd(
        name: str,
        reason: Annotated[str | None, typer.Option(help="why (kept with the state)")] = None,
        workspace: WorkspaceOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        from marketops.journeys import service

        with user_errors():
            ctx = _ctx(workspace)
            if action == "resume":
                out = service.resume(ctx, name, now=_now())
            else:
                out = getattr(service, action)(ctx, name, now=_now(), reason=reason)
        if as_json:
            emit_json(out)
            return
        ended = f"; {out['ended']} enrolments ended" if out["ended"] else ""
        console.print(f"{name}: {out['status']}{ended}" + ("" if out["changed"] else " (already)"))

    cmd.__doc__ = {
        "pause": "Pause: due steps wait (and run on resume); nobody enters meanwhile.",
        "resume": "Resume a paused journey: waiting steps and entries catch up.",
        "stop": "Stop: every enrolment ends with the reason; `resume` starts it afresh.",
    }[action]
    return cmd


for _action in ("pause", "resume", "stop"):
    journey_app.command(_action)(_state_cmd(_action))


@journey_app.command("retry")
def retry_cmd(name: str, workspace: WorkspaceOpt = None) -> None:
    """Put people whose step failed back on that step."""
    from marketops.journeys.service import retry_failed

    with user_errors():
        n = retry_failed(_ctx(workspace), name, now=_now())
    console.print(f"{name}: {n} enrolment(s) due again")


@journey_app.command("status")
def status_cmd(name: str, workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """People by status and by step, step outcomes, goals reached."""
    from marketops.journeys.service import status

    with user_errors():
        out = status(_ctx(workspace), name)
    if as_json:
        emit_json(out)
        return
    console.print(f"[bold]{name}[/]: {out['status']}, version {out['version']}")
    console.print(
        "enrolments: " + (", ".join(f"{k} {v}" for k, v in out["enrolments"].items()) or "none")
    )
    if out["goals"]:
        console.print("goals: " + ", ".join(f"{k} {v}" for k, v in out["goals"].items()))
    if out["at_step"]:
        console.print(
            table(
                "Inside now",
                ["version", "step", "people"],
                [[r["version"], r["step"], r["people"]] for r in out["at_step"]],
            )
        )
    if out["steps"]:
        console.print(
            table(
                "Steps run",
                ["step", "outcome", "count"],
                [[r["step"], r["outcome"], r["count"]] for r in out["steps"]],
            )
        )


@journey_app.command("enrol")
def enrol_cmd(
    name: str,
    lead: Annotated[str, typer.Option("--lead", help="lead id")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Put one lead into a journey by hand (the re-entry policy still applies)."""
    from marketops.journeys.triggers import enrol

    with user_errors():
        out = enrol(_ctx(workspace), name, lead, now=_now())
    if as_json:
        emit_json(out)
    elif out["entered"]:
        console.print(
            f"{lead} entered {name} (version {out['version']}, enrolment {out['enrolment_id']})"
        )
    else:
        console.print(f"{lead} did not enter {name}: {out['reason']}")


@journey_app.command("simulate")
def simulate_cmd(
    name: str,
    since: Annotated[str, typer.Option(help="replay history from this date")],
    until: Annotated[str | None, typer.Option(help="… to this date (default: now)")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Replay stored history through the journey file, with no side effects: who would have
    entered, been sent which emails, reached a goal, still be inside."""
    from marketops.journeys.simulate import simulate

    with user_errors():
        out = simulate(
            _ctx(workspace),
            name,
            since=_instant(since, "--since"),
            until=_instant(until, "--until") if until else _now(),
        )
    if as_json:
        emit_json(out)
        return
    console.print(f"[bold]{name}[/] from {out['since']} to {out['until']} (nothing was sent)")
    console.print(
        f"would have entered: {out['entered']}; completed {out['completed']}, reached a goal"
        f" {sum(out['goals'].values())}, exited {out['exited']}, still inside {out['inside']}"
    )
    if out["emails"]:
        console.print(
            table(
                "Emails",
                ["template", "sent", "skipped", "deferred", "failed", "why not"],
                [
                    [
                        t,
                        v["sent"],
                        v["skipped"],
                        v["deferred"],
                        v["failed"],
                        ", ".join(f"{k} {n}" for k, n in sorted(v["reasons"].items())),
                    ]
                    for t, v in out["emails"].items()
                ],
            )
        )
    if out["steps"]:
        console.print(table("Steps", ["step", "runs"], [[k, v] for k, v in out["steps"].items()]))


@journey_app.command("tick")
def tick_cmd(workspace: WorkspaceOpt = None) -> None:
    """Run entries and every due step now (what the worker does on its own)."""
    from marketops.journeys.runner import drain

    with user_errors():
        n = drain(_ctx(workspace), _now)
    console.print(f"handled {n}")
