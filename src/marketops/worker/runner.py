"""The worker loop: run each due job, reschedule it, sleep until the next one is due.

A job that handled something runs again at once (it drains a backlog, e.g. after downtime);
an idle one waits its interval. One job's failure is logged and retried on its next tick; it never
stops the others. `stop` (a threading.Event) ends the loop between ticks: SIGTERM-friendly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from marketops.worker.jobs import Job, registered_jobs

log = logging.getLogger("marketops.worker")

# after an exception a job waits at least this long, so a broken job does not spin
ERROR_BACKOFF_S = 5.0


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class JobState:
    job: Job
    due: float = 0.0  # monotonic time of its next run
    runs: int = 0
    handled: int = 0
    errors: int = 0
    last_error: str | None = None


@dataclass
class WorkerStats:
    jobs: dict[str, JobState] = field(default_factory=dict)

    @property
    def handled(self) -> int:
        return sum(s.handled for s in self.jobs.values())


def select_jobs(names: Iterable[str] | None) -> list[Job]:
    jobs = registered_jobs()
    if not names:
        return list(jobs.values())
    from marketops.errors import MarketopsError, Problem

    names = list(names)
    unknown = [n for n in names if n not in jobs]
    if unknown:
        raise MarketopsError(
            f"unknown job(s): {unknown}",
            [Problem("--job", n, f"known jobs: {sorted(jobs)}") for n in unknown],
        )
    return [jobs[n] for n in names]


def run_tick(ctx, state: JobState, clock: Callable[[], datetime]) -> int:  # type: ignore[no-untyped-def]
    """Run one tick of one job; returns what it handled (0 on error)."""
    state.runs += 1
    try:
        n = int(state.job.fn(ctx, clock()) or 0)
    except Exception as exc:
        state.errors += 1
        state.last_error = f"{type(exc).__name__}: {exc}"
        # the type only at ERROR: messages may quote data (PII); the traceback at DEBUG
        log.error("job %s failed: %s", state.job.name, type(exc).__name__)
        log.debug("job %s traceback", state.job.name, exc_info=True)
        return -1
    state.handled += n
    return n


def run_worker(
    ctx,  # type: ignore[no-untyped-def]
    *,
    jobs: Iterable[Job] | None = None,
    stop: threading.Event | None = None,
    clock: Callable[[], datetime] = utcnow,
    once: bool = False,
    max_burst: int = 1000,
) -> WorkerStats:
    """Run jobs until `stop` is set, or (`once`) until every job has nothing left to do.

    `max_burst` bounds how many back-to-back ticks one busy job gets before the others have a turn.
    """
    stop = stop or threading.Event()
    states = [JobState(j) for j in (list(jobs) if jobs is not None else select_jobs(None))]
    stats = WorkerStats({s.job.name: s for s in states})
    log.info("worker started with jobs: %s", ", ".join(s.job.name for s in states) or "(none)")
    if once:
        for s in states:
            for _ in range(max_burst):
                if stop.is_set() or run_tick(ctx, s, clock) <= 0:
                    break
        return stats
    while not stop.is_set():
        now = time.monotonic()
        for s in states:
            if stop.is_set():
                break
            if s.due > now:
                continue
            burst = 0
            while True:
                n = run_tick(ctx, s, clock)
                burst += 1
                if n <= 0 or burst >= max_burst or stop.is_set():
                    break
            if n < 0:
                wait = max(s.job.interval_s, ERROR_BACKOFF_S)
            else:
                wait = 0.0 if n > 0 else s.job.interval_s
            s.due = time.monotonic() + wait
        if not states:
            stop.wait(1.0)
            continue
        sleep = min(s.due for s in states) - time.monotonic()
        if sleep > 0:
            stop.wait(sleep)
    log.info("worker stopped")
    return stats


def start_in_thread(
    ctx, *, jobs: Iterable[Job] | None = None
) -> tuple[threading.Thread, threading.Event]:  # type: ignore[no-untyped-def]
    """Run the worker beside another loop (e.g. `marketops serve --with-worker`)."""
    stop = threading.Event()
    selected = list(jobs) if jobs is not None else select_jobs(None)
    thread = threading.Thread(
        target=run_worker,
        args=(ctx,),
        kwargs={"jobs": selected, "stop": stop},
        name="marketops-worker",
        daemon=True,
    )
    thread.start()
    return thread, stop
