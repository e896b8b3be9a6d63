"""The worker loop: job discovery, draining, error isolation, stopping, catching up after downtime."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from marketops.notify import NOTIFICATIONS_FILE, outbox
from marketops.notify.receiver import Receiver
from marketops.worker.jobs import Job, register_job, registered_jobs
from marketops.worker.runner import run_worker, select_jobs


def test_discovery_finds_the_outbox_job() -> None:
    jobs = registered_jobs()
    assert "outbox" in jobs and jobs["outbox"].interval_s > 0
    with pytest.raises(ValueError):
        register_job("bad", lambda ctx, now: 0, interval_s=0)
    with pytest.raises(Exception, match="unknown job"):
        select_jobs(["no-such-job"])


def test_once_drains_each_job_and_isolates_failures() -> None:
    backlog = [5]
    seen_now: list[datetime] = []

    def drain(ctx, now):  # type: ignore[no-untyped-def]
        seen_now.append(now)
        n = min(2, backlog[0])
        backlog[0] -= n
        return n

    def broken(ctx, now):  # type: ignore[no-untyped-def]
        raise RuntimeError("jane@example.com caused this")  # PII in a message: not logged at ERROR

    clock = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    stats = run_worker(
        None,
        jobs=[Job("broken", broken, 1.0), Job("drain", drain, 1.0)],
        once=True,
        clock=lambda: clock,
    )
    assert backlog == [0]
    assert stats.jobs["drain"].runs == 4  # 2 + 2 + 1, then an empty tick ends the burst
    assert stats.jobs["drain"].handled == 5
    assert stats.jobs["broken"].errors == 1 and "RuntimeError" in stats.jobs["broken"].last_error
    assert seen_now == [clock] * 4


def test_loop_runs_on_interval_and_stops_promptly() -> None:
    ticks: list[float] = []
    stop = threading.Event()

    def job(ctx, now):  # type: ignore[no-untyped-def]
        ticks.append(time.monotonic())
        return 0

    thread = threading.Thread(
        target=run_worker, args=(None,), kwargs={"jobs": [Job("t", job, 0.05)], "stop": stop}
    )
    thread.start()
    time.sleep(0.5)
    stop.set()
    started = time.monotonic()
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - started < 1.0
    assert len(ticks) >= 3
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert min(gaps) >= 0.04  # idle: waits its interval between ticks


def test_catches_up_after_downtime(ctx, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Deliveries that fell due while no worker ran are all sent when one starts."""
    rx = Receiver("s")
    rx.start()
    try:
        monkeypatch.setenv("MARKETOPS_WEBHOOK_SECRET", "s")
        (ctx.workspace.root / NOTIFICATIONS_FILE).write_text(
            yaml.safe_dump({"delivery": {"batch_size": 7}})
        )
        two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
        with ctx.engine.begin() as conn:
            for i in range(30):
                outbox.enqueue(
                    conn,
                    channel="webhook",
                    destination=rx.url,
                    payload={"i": i},
                    idempotency_key=f"k{i}",
                    now=two_hours_ago + timedelta(minutes=i),
                )
        stats = run_worker(ctx, jobs=select_jobs(["outbox"]), once=True)
        with ctx.engine.connect() as conn:
            assert outbox.counts(conn) == {"pending": 0, "delivered": 30, "dead": 0}
    finally:
        rx.stop()
    assert stats.jobs["outbox"].handled == 30 and stats.jobs["outbox"].runs == 6  # 5 batches + idle
    assert sorted(rx.accepted) == sorted(f"k{i}" for i in range(30))
