"""worker: run background jobs (outbox delivery, timers, …) until stopped."""

from __future__ import annotations

from typing import Annotated

import typer

from marketops.cli._common import WorkspaceOpt, console, table, user_errors


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)


def worker(
    workspace: WorkspaceOpt = None,
    job: Annotated[
        list[str] | None, typer.Option("--job", "-j", help="run only these jobs (repeatable)")
    ] = None,
    once: Annotated[
        bool, typer.Option(help="run each job until it has nothing due, then exit (cron)")
    ] = False,
    list_: Annotated[bool, typer.Option("--list", help="list the registered jobs")] = False,
    log_level: Annotated[str, typer.Option()] = "info",
) -> None:
    """Run registered jobs on their intervals; safe to run several workers at once.

    Stops cleanly on SIGINT/SIGTERM after the tick in flight.
    """
    import logging
    import signal
    import threading

    from marketops.worker.runner import run_worker, select_jobs

    with user_errors():
        jobs = select_jobs(job)
        if list_:
            console.print(
                table(
                    "Jobs", ["name", "interval (s)"], [[j.name, f"{j.interval_s:g}"] for j in jobs]
                )
            )
            return
        from marketops.services.context import AppContext
        from marketops.workspace import Workspace

        logging.basicConfig(
            level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        ctx = AppContext.open(Workspace.load(workspace))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        stats = run_worker(ctx, jobs=jobs, stop=stop, once=once)
    finally:
        ctx.close()
    if once:
        console.print(
            table(
                "Worker run",
                ["job", "ticks", "handled", "errors"],
                [[s.job.name, s.runs, s.handled, s.errors] for s in stats.jobs.values()],
            )
        )
        if any(s.errors for s in stats.jobs.values()):
            raise typer.Exit(1)
