"""The job registry. A capability registers jobs in its `marketops.<pkg>.jobs` module.

A job is `fn(ctx, now) -> int`: one tick of work, returning how many items it handled. It must be
safe with several workers running at once (claim rows with `SELECT … FOR UPDATE SKIP LOCKED` or a
conditional UPDATE), because `marketops worker` may run on several machines.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("marketops.worker")

JobFn = Callable[[Any, datetime], int]  # (AppContext, now) -> items handled


@dataclass(frozen=True)
class Job:
    name: str
    fn: JobFn
    interval_s: float


_JOBS: dict[str, Job] = {}


def register_job(name: str, fn: Callable[[Any, datetime], int], interval_s: float) -> None:
    """Run `fn` every `interval_s` seconds (sooner while it keeps finding work)."""
    if interval_s <= 0:
        raise ValueError(f"job {name}: interval_s must be positive")
    _JOBS[name] = Job(name, fn, float(interval_s))


def registered_jobs() -> dict[str, Job]:
    """Every job, after importing each `marketops.<pkg>.jobs` module."""
    discover()
    return dict(_JOBS)


def discover() -> list[str]:
    """Import every `jobs.py` module under the package (at any depth, e.g. marketops.ops.intake.jobs).

    Looks at the files rather than importing every package, so heavy packages (analytics, Spark)
    are not loaded by a worker that does not need them.
    """
    import marketops

    found = []
    for base in marketops.__path__:
        root = Path(base)
        for path in sorted(root.rglob("jobs.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[0] == "worker" or "__pycache__" in parts:
                continue
            name = "marketops." + ".".join(parts)
            try:
                importlib.import_module(name)
            except Exception as exc:
                # one broken capability must not stop every other job (notifications, timers)
                log.error("cannot load %s: %s: %s", name, type(exc).__name__, exc)
                continue
            found.append(name)
    return found
