"""A real `marketops worker` process is killed (SIGKILL) mid-run and two are started in its
place: every person runs every step exactly once, and every effect (field update, outbox
delivery) happens once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime

from journeys_helpers import duplicated_steps, write_journey
from sqlalchemy import func, select

from marketops.journeys.triggers import Candidate, enrol_many
from marketops.journeys.versions import definition, publish
from marketops.services.context import AppContext
from marketops.services.leads import capture_one
from marketops.store.schema import lead_events
from marketops.store.tables_journeys import journey_enrolments, journey_step_runs
from marketops.store.tables_notify import outbox
from marketops.workspace import Workspace

N = 2500
STEPS = ["a", "hook-1", "b", "hook-2", "c"]
BURST = {
    "entry": {"event": "go"},
    "steps": [
        {"id": "a", "update_field": {"field": "stage_a", "value": 1}},
        {"id": "hook-1", "webhook": {"url": "https://hooks.example/1"}},
        {"id": "b", "update_field": {"field": "stage_b", "value": 1}},
        {"id": "hook-2", "webhook": {"url": "https://hooks.example/2"}},
        {"id": "c", "update_field": {"field": "stage_c", "value": 1}},
    ],
}


def _worker(ws, env) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    return subprocess.Popen(
        [sys.executable, "-m", "marketops.cli", "worker", "-w", str(ws), "--job", "journeys.steps"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _count(ctx, table) -> int:  # type: ignore[no-untyped-def]
    with ctx.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_kill_worker_mid_run_loses_and_repeats_nothing(
    workspace_dir, backend_url, monkeypatch
) -> None:
    monkeypatch.setenv("MARKETOPS_DATABASE_URL", backend_url)
    ctx = AppContext.open(Workspace.load(workspace_dir))
    now = datetime.now(UTC)
    write_journey(workspace_dir, "burst", BURST)
    publish(ctx, "burst", now=now)
    ids = []
    for i in range(N):
        status, body = capture_one(ctx, {"email": f"p{i}@crash.example"}, now)
        assert status == 201, body
        ids.append(body["id"])
    with ctx.engine.begin() as conn:
        j = definition(conn, "burst", 1)
        assert (
            enrol_many(conn, "burst", j, 1, [Candidate(i, f"burst:t:{i}") for i in ids], now) == N
        )
    env = {**os.environ, "MARKETOPS_DATABASE_URL": backend_url}
    total = N * len(STEPS)

    proc = _worker(workspace_dir, env)
    deadline = time.monotonic() + 120
    while _count(ctx, journey_step_runs) < total // 5 and time.monotonic() < deadline:
        assert proc.poll() is None, "the worker exited early"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    at_kill = _count(ctx, journey_step_runs)
    assert 0 < at_kill < total, f"the kill did not land mid-run ({at_kill} of {total})"

    # two workers now: they claim different people (SKIP LOCKED / BEGIN IMMEDIATE)
    procs = [_worker(workspace_dir, env), _worker(workspace_dir, env)]
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            with ctx.engine.connect() as conn:
                left = conn.execute(
                    select(func.count()).where(journey_enrolments.c.status == "active")
                ).scalar_one()
            if left == 0:
                break
            assert all(p.poll() is None for p in procs), "a restarted worker exited"
            time.sleep(0.1)
        assert left == 0, f"{left} people never finished"
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(30)

    assert duplicated_steps(ctx) == 0
    with ctx.engine.connect() as conn:
        per_person = Counter(
            (e, s)
            for e, s in conn.execute(
                select(journey_step_runs.c.enrolment_id, journey_step_runs.c.step)
            )
        )
        hooks = Counter(
            (p["lead_id"], p["step"])
            for (p,) in conn.execute(select(outbox.c.payload).where(outbox.c.channel == "webhook"))
        )
        updates = Counter(
            (lid, next(iter(d["changes"])))
            for lid, d in conn.execute(
                select(lead_events.c.lead_id, lead_events.c.data).where(
                    lead_events.c.kind == "updated", lead_events.c.actor == "journey:burst"
                )
            )
        )
        statuses = Counter(conn.execute(select(journey_enrolments.c.status)).scalars())
    assert statuses == {"completed": N}
    assert len(per_person) == total and set(per_person.values()) == {1}
    assert len(hooks) == 2 * N and set(hooks.values()) == {1}
    assert len(updates) == 3 * N and set(updates.values()) == {1}
    ctx.close()
