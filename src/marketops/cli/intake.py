"""`marketops request …`, `marketops launch …`, `marketops intake …`: request intake with SLAs,
launches on release trains with the pre-flight gate, and the MOPS metrics."""

from __future__ import annotations

import datetime as dt
import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from marketops.cli._common import WorkspaceOpt, console, emit_json, err_console, table, user_errors

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
ActorOpt = Annotated[
    str | None, typer.Option("--actor", help="who does this (default: $USER)", show_default=False)
]
NoteOpt = Annotated[str | None, typer.Option("--note", help="a note kept in the history")]
OverrideOpt = Annotated[
    str | None,
    typer.Option("--override-reason", help="launch inside a freeze anyway (audited)"),
]
EXIT_REFUSED = 2


def _ctx(workspace: Path | None):  # -> AppContext
    from marketops.services.context import AppContext
    from marketops.workspace import Workspace

    return AppContext.open(Workspace.load(workspace))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _actor(actor: str | None) -> str:
    return actor or os.environ.get("USER") or getpass.getuser()


def _pairs(items: list[str], option: str) -> dict[str, str]:
    from marketops.errors import MarketopsError, Problem

    out, problems = {}, []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            problems.append(Problem(option, f"{item!r} is not NAME=VALUE"))
        else:
            out[key.strip()] = value
    if problems:
        raise MarketopsError(f"bad {option}", problems)
    return out


def _instant(text: str | None, option: str, zone: str) -> dt.datetime | None:
    if text is None:
        return None
    from marketops.cli.calendars import instant

    return instant(text, option, zone)


def _refused(exc: Exception) -> None:
    from rich.markup import escape

    err_console.print(f"[bold red]refused:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_REFUSED) from exc


@contextmanager
def refusals() -> Iterator[None]:
    """`user_errors`, with a refused move or launch (a Conflict) reported as exit code 2."""
    from marketops.errors import Conflict

    with user_errors():
        try:
            yield
        except Conflict as exc:
            _refused(exc)


def _show_request(r: dict[str, Any]) -> None:
    console.print(
        f"[bold]#{r['id']}[/] {r['title']}  [dim]{r['type']} · {r['class']}[/]\n"
        f"state [bold]{r['state']}[/]  priority {r['priority']:g}  "
        f"created {r['created_at']}  channel {r['channel']}"
        + (f"  template {r['template']}" if r.get("template") else "")
    )
    if r.get("inputs"):
        console.print(table("inputs", ["name", "value"], [[k, v] for k, v in r["inputs"].items()]))
    rows = []
    for s in r.get("sla", []):
        for c in s["cycles"]:
            rows.append(
                [
                    s["goal"],
                    c["index"],
                    c["state"],
                    f"{c['elapsed_hours']:.2f}h / {s['target_hours']:g}h",
                    "BREACHED" if c["breached"] else ("met" if c["met"] else ""),
                    c["breach_at"] or "",
                ]
            )
    if rows:
        console.print(
            table(
                "SLA", ["goal", "cycle", "clock", "elapsed / target", "result", "breach at"], rows
            )
        )
    if r.get("history"):
        console.print(
            table(
                "history",
                ["at", "from", "to", "by", "note"],
                [[h["at"], h["from"], h["to"], h["actor"], h["note"]] for h in r["history"]],
            )
        )
    for launch in r.get("launches", []):
        console.print(
            f"launch {launch['id']}: {launch['state']} on {launch['train'] or '(no train)'}"
            f" at {launch['launch_at']}"
        )
    if r.get("next"):
        console.print(f"[dim]next: {', '.join(r['next'])}[/]")


def _show_launch(v: dict[str, Any]) -> None:
    console.print(
        f"[bold]launch {v['id']}[/] {v['name']}  state [bold]{v['state']}[/]  "
        f"train {v['train'] or '(none)'}  at {v['launch_at']}"
        + (f"  request #{v['request_id']}" if v["request_id"] else "")
    )
    freeze = v["freeze"]
    if freeze["blocked_by"]:
        how = "overridden" if freeze["overridden"] else "BLOCKED"
        console.print(f"freeze: {how} by {', '.join(freeze['blocked_by'])}")
    for a in v["assets"]:
        p = a["preflight"]
        if p is None:
            status = "not checked yet"
        else:
            status = (
                f"{'can ship' if p['can_ship'] else 'CANNOT SHIP'}: {p['blockers']} blocker(s), "
                f"{p['warnings']} warning(s)" + ("" if p["current"] else " (asset changed since)")
            )
        console.print(f"  {a['name']} ({a['kind']}): {status}")
        for f in (p or {}).get("findings", []):
            if f["severity"] == "blocker":
                console.print(f"    [red]blocker[/] {f['check']} {f['where']}: {f['message']}")
    for t in v["audit"]:
        console.print(f"  audit {t['at']} {t['actor']} {t['action']}: {t['reason']}")


def register(app: typer.Typer) -> None:
    req = typer.Typer(
        help="Requests to the MOPS team: new, list, show, move.", no_args_is_help=True
    )
    launch = typer.Typer(
        help="Launches on release trains with the pre-flight gate.", no_args_is_help=True
    )
    intake = typer.Typer(help="Intake metrics and the experiments log.", no_args_is_help=True)

    @req.command("new")
    def request_new(
        type_: Annotated[
            str, typer.Option("--type", "-t", help="request type key from catalog.yml")
        ],
        title: Annotated[str, typer.Option("--title", help="what you need, in a few words")],
        requester: Annotated[str, typer.Option("--requester", help="your email or name")],
        description: Annotated[str, typer.Option("--description", "-d")] = "",
        input_: Annotated[
            list[str], typer.Option("--input", "-i", help="NAME=VALUE, repeatable")
        ] = [],  # noqa: B006
        priority: Annotated[
            list[str], typer.Option("--priority", "-p", help="impact=4, urgency=5, …")
        ] = [],  # noqa: B006
        template: Annotated[str | None, typer.Option("--template")] = None,
        self_serve: Annotated[
            bool | None, typer.Option("--self-serve/--no-self-serve", show_default=False)
        ] = None,
        workspace: WorkspaceOpt = None,
        actor: ActorOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """File a request (checked against the service catalog)."""
        from marketops.ops.intake.requests import NewRequest
        from marketops.ops.intake.service import create_request

        with user_errors():
            new = NewRequest(
                type=type_,
                title=title,
                requester=requester,
                description=description,
                inputs=_pairs(input_, "--input"),
                priority=_pairs(priority, "--priority"),  # type: ignore[arg-type]
                template=template,
                self_serve=self_serve,
                channel="cli",
            )
            r, _ = create_request(_ctx(workspace), new, now=_now(), actor=_actor(actor))
        if as_json:
            emit_json(r)
        else:
            _show_request(r)

    @req.command("list")
    def request_list(
        state: Annotated[str | None, typer.Option("--state")] = None,
        class_: Annotated[str | None, typer.Option("--class")] = None,
        open_only: Annotated[bool, typer.Option("--open", help="only open requests")] = False,
        workspace: WorkspaceOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Requests by priority, highest first."""
        from marketops.ops.intake.service import list_requests

        with user_errors():
            rows = list_requests(_ctx(workspace), state=state, class_=class_, open_only=open_only)
        if as_json:
            emit_json(rows)
            return
        console.print(
            table(
                f"{len(rows)} request(s)",
                ["id", "priority", "state", "class", "type", "title", "created"],
                [
                    [
                        r["id"],
                        f"{r['priority']:g}",
                        r["state"],
                        r["class"],
                        r["type"],
                        r["title"],
                        r["created_at"][:16],
                    ]
                    for r in rows
                ],
            )
        )

    @req.command("show")
    def request_show(
        request_id: Annotated[int, typer.Argument(help="request id")],
        workspace: WorkspaceOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """A request with its SLA clocks, history and launches."""
        from marketops.ops.intake.service import request_view

        with user_errors():
            r = request_view(_ctx(workspace), request_id, now=_now())
        emit_json(r) if as_json else _show_request(r)

    @req.command("move")
    def request_move(
        request_id: Annotated[int, typer.Argument()],
        to: Annotated[str, typer.Argument(help="new state, e.g. triaged, in_progress, qa")],
        note: NoteOpt = None,
        at: Annotated[
            str | None,
            typer.Option("--at", help="scheduled: launch at this time, not the next train"),
        ] = None,
        override_reason: OverrideOpt = None,
        workspace: WorkspaceOpt = None,
        actor: ActorOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Move a request (scheduled books a launch on a train; live ships it). Exit 2 if refused."""
        from marketops.ops.intake.service import move_request

        with refusals():
            ctx = _ctx(workspace)
            zone = _releases_zone(ctx)
            r = move_request(
                ctx,
                request_id,
                to,
                actor=_actor(actor),
                now=_now(),
                note=note,
                override_reason=override_reason,
                launch_at=_instant(at, "--at", zone),
            )
        emit_json(r) if as_json else _show_request(r)

    @req.command("pause")
    def request_pause(
        request_id: Annotated[int, typer.Argument()],
        reason: Annotated[
            str, typer.Option("--reason", help="waiting_on_requester or awaiting_approval")
        ] = "waiting_on_requester",
        note: NoteOpt = None,
        workspace: WorkspaceOpt = None,
        actor: ActorOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Pause a request (its SLA clocks stop while paused)."""
        from marketops.ops.intake.service import pause_request

        with refusals():
            r = pause_request(
                _ctx(workspace),
                request_id,
                actor=_actor(actor),
                now=_now(),
                reason=reason,
                note=note,
            )
        emit_json(r) if as_json else _show_request(r)

    @req.command("resume")
    def request_resume(
        request_id: Annotated[int, typer.Argument()],
        note: NoteOpt = None,
        workspace: WorkspaceOpt = None,
        actor: ActorOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Resume a paused request where it left off."""
        from marketops.ops.intake.service import resume_request

        with refusals():
            r = resume_request(
                _ctx(workspace), request_id, actor=_actor(actor), now=_now(), note=note
            )
        emit_json(r) if as_json else _show_request(r)

    @launch.command("schedule")
    def launch_schedule(
        name: Annotated[
            str | None, typer.Option("--name", help="default: the request's title")
        ] = None,
        request_id: Annotated[
            int | None, typer.Option("--request", help="a launch request")
        ] = None,
        asset: Annotated[
            list[Path], typer.Option("--asset", help=".html/.eml to pre-flight, repeatable")
        ] = [],  # noqa: B006
        page: Annotated[
            bool, typer.Option("--page", help="the HTML assets are landing pages")
        ] = False,
        train: Annotated[str | None, typer.Option("--train")] = None,
        after: Annotated[str | None, typer.Option("--after", help="ISO; default now")] = None,
        at: Annotated[
            str | None, typer.Option("--at", help="a fixed time instead of the next train")
        ] = None,
        duration: Annotated[str, typer.Option("--duration")] = "30m",
        override_reason: OverrideOpt = None,
        workspace: WorkspaceOpt = None,
        actor: ActorOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Book a launch on the next release train with room (exit 2 when refused)."""
        from marketops.cli.releases import _duration
        from marketops.errors import MarketopsError, Problem
        from marketops.ops.intake.repo import load_request
        from marketops.ops.launches import NewLaunch
        from marketops.ops.launches.usecases import schedule_launch

        with refusals():
            ctx = _ctx(workspace)
            zone = _releases_zone(ctx)
            if name is None and request_id is not None:
                with ctx.engine.connect() as conn:
                    name = load_request(conn, request_id)["title"]
            if not name:
                raise MarketopsError(
                    "a launch needs --name or --request", [Problem("--name", "missing")]
                )
            files = [_read_asset(p, page) for p in asset]
            new = NewLaunch(
                name=name,
                request_id=request_id,
                duration=_duration(duration),
                after=_instant(after, "--after", zone),
                train=train,
                at=_instant(at, "--at", zone),
                override_reason=override_reason,
            )
            v = schedule_launch(ctx, new, actor=_actor(actor), now=_now(), assets=files)
        emit_json(v) if as_json else _show_launch(v)

    @launch.command("check")
    def launch_check(
        launch_id: Annotated[int, typer.Argument()],
        online: Annotated[bool, typer.Option("--online", help="fetch links over HTTP")] = False,
        workspace: WorkspaceOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Pre-flight every asset of a launch and keep the reports; exit 2 when it cannot ship."""
        from marketops.ops.launches.usecases import check_launch

        with user_errors():
            v = check_launch(_ctx(workspace), launch_id, now=_now(), online=online)
        emit_json(v) if as_json else _show_launch(v)
        if not v["preflight_ok"]:
            raise typer.Exit(EXIT_REFUSED)

    @launch.command("ship")
    def launch_ship(
        launch_id: Annotated[int, typer.Argument()],
        override_reason: OverrideOpt = None,
        workspace: WorkspaceOpt = None,
        actor: ActorOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Ship (go live): refused with pre-flight blockers or inside a freeze (exit 2)."""
        from marketops.ops.launches.usecases import ship_launch

        with refusals():
            v = ship_launch(
                _ctx(workspace),
                launch_id,
                actor=_actor(actor),
                now=_now(),
                override_reason=override_reason,
            )
        emit_json(v) if as_json else _show_launch(v)

    @launch.command("cancel")
    def launch_cancel(
        launch_id: Annotated[int, typer.Argument()],
        workspace: WorkspaceOpt = None,
        actor: ActorOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Take a scheduled launch off its train (the seat is freed; its request returns to qa)."""
        from marketops.ops.launches.usecases import cancel_launch

        with refusals():
            v = cancel_launch(_ctx(workspace), launch_id, actor=_actor(actor), now=_now())
        emit_json(v) if as_json else _show_launch(v)

    @launch.command("list")
    def launch_list(
        state: Annotated[str | None, typer.Option("--state")] = None,
        workspace: WorkspaceOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Launches by time."""
        from marketops.ops.launches.usecases import list_launches

        with user_errors():
            rows = list_launches(_ctx(workspace), state=state)
        if as_json:
            emit_json(rows)
            return
        console.print(
            table(
                f"{len(rows)} launch(es)",
                ["id", "state", "train", "launch at", "name", "request"],
                [
                    [r["id"], r["state"], r["train"], r["launch_at"], r["name"], r["request_id"]]
                    for r in rows
                ],
            )
        )

    @intake.command("metrics")
    def intake_metrics_cmd(
        since: Annotated[
            str | None, typer.Option("--since", help="ISO date; default 90 days ago")
        ] = None,
        until: Annotated[
            str | None, typer.Option("--until", help="ISO date (exclusive); default now")
        ] = None,
        shared_cost: Annotated[
            str, typer.Option("--experiment-shared-cost", help="programme cost for the period")
        ] = "0",
        workspace: WorkspaceOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """MOPS KPIs: time-to-campaign, SLA adherence, backlog aging, reuse, self-serve, experiments."""
        from marketops.ops.intake.service import intake_metrics

        with user_errors():
            ctx = _ctx(workspace)
            zone = ctx.workspace.settings.timezone
            m = intake_metrics(
                ctx,
                now=_now(),
                since=_instant(since, "--since", zone),
                until=_instant(until, "--until", zone),
                shared_experiment_cost=_money(shared_cost),
            ).to_dict()
        if as_json:
            emit_json(m)
            return
        _render_metrics(m)

    @intake.command("log-experiment")
    def log_experiment_cmd(
        key: Annotated[str, typer.Argument(help="experiment key")],
        concluded_on: Annotated[str, typer.Option("--concluded-on", help="YYYY-MM-DD")],
        required_per_arm: Annotated[int, typer.Option("--required-per-arm")],
        units: Annotated[str, typer.Option("--units", help="units per arm, e.g. 5000,5100")],
        cost: Annotated[str, typer.Option("--cost", help="direct cost, e.g. 1200.00")] = "0",
        workspace: WorkspaceOpt = None,
    ) -> None:
        """Record a concluded experiment for the throughput and cost KPIs."""
        from marketops.errors import MarketopsError, Problem
        from marketops.ops.intake.service import log_experiment

        with user_errors():
            try:
                day = dt.date.fromisoformat(concluded_on)
                arms = [int(u) for u in units.split(",")]
            except ValueError as exc:
                raise MarketopsError(
                    "bad experiment values", [Problem("--concluded-on/--units", str(exc))]
                ) from exc
            log_experiment(
                _ctx(workspace),
                key=key,
                concluded_on=day,
                required_per_arm=required_per_arm,
                units_per_arm=arms,
                direct_cost=_money(cost),
                now=_now(),
            )
        console.print(f"logged experiment {key}")

    app.add_typer(req, name="request")
    app.add_typer(launch, name="launch")
    app.add_typer(intake, name="intake")


def _money(text: str):  # -> Decimal
    from decimal import Decimal, InvalidOperation

    from marketops.errors import MarketopsError, Problem

    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise MarketopsError(
            f"{text!r} is not an amount", [Problem("cost", "e.g. 1200.00")]
        ) from exc


def _releases_zone(ctx: Any) -> str:
    from marketops.ops.intake.setup import intake_setup

    return intake_setup(ctx.workspace).releases.model.timezone


def _read_asset(path: Path, page: bool) -> tuple[str, str, str, bool]:
    from marketops.errors import MarketopsError, Problem

    kind = "eml" if path.suffix.lower() == ".eml" else "html"
    try:
        content = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise MarketopsError(f"cannot read {path}", [Problem(str(path), str(exc))]) from exc
    return path.name, content, kind, page and kind == "html"


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1%}" if value <= 1 else f"{value:.1f}"
    return str(value)


def _render_metrics(m: dict[str, Any]) -> None:
    p = m["period"]
    console.print(f"[bold]MOPS metrics[/] {p['since'][:10]} to {p['until'][:10]}")
    ttc = m["time_to_campaign"]
    console.print(
        table(
            "time to campaign (created → live)",
            ["class", "launches", "median calendar h", "median business h", "mean business h"],
            [
                [
                    k,
                    v["calendar"]["count"],
                    v["calendar"]["median_hours"],
                    v["business"]["median_hours"],
                    v["business"]["mean_hours"],
                ]
                for k, v in ttc.items()
            ],
        )
    )
    rows = [
        [cls, goal, t["met"], t["breached"], t["pending"], _fmt(t["adherence"])]
        for cls, goals in m["sla_adherence"].items()
        for goal, t in goals.items()
    ]
    console.print(
        table("SLA adherence", ["class", "goal", "met", "breached", "pending", "adherence"], rows)
    )
    aging = m["backlog_aging"]
    older = next((k for v in aging.values() for k in v if k.startswith("older_than")), "older")
    console.print(
        table(
            "backlog aging",
            ["class", "open", older.replace("_", " "), "share"],
            [[k, v["open"], v[older], _fmt(v["share_aged"])] for k, v in aging.items()],
        )
    )
    t, s, e = m["template_reuse"], m["self_serve"], m["experiments"]
    console.print(f"template reuse: {t['used_template']}/{t['eligible']} = {_fmt(t['rate'])}")
    console.print(f"self-serve share: {s['self_serve']}/{s['requests']} = {_fmt(s['share'])}")
    j = m.get("journey_templates") or {}
    if j.get("journeys"):
        used = ", ".join(f"{k} {v}" for k, v in j["by_template"].items() if v) or "none"
        console.print(
            f"journey template reuse: {j['from_template']}/{j['journeys']} = {_fmt(j['rate'])}"
            f" ({used})"
        )
    console.print(
        f"experiments: {e['concluded']} concluded, {e['meeting_power']} met power; "
        f"per month {e['per_month_meeting_power']}; cost per experiment "
        f"{e['cost_per_experiment']}, per powered experiment {e['cost_per_powered_experiment']}"
    )
