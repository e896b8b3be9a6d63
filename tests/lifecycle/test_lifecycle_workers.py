"""Two workers against one PostgreSQL database fire each due timer exactly once."""

import threading
from datetime import timedelta

from lifecycle_helpers import FRIDAY_1630_NY, open_ctx, outbox_rows, timers
from sqlalchemy import func, select

from marketops.lifecycle.timers import sla_tick
from marketops.services.capture import Batch, capture
from marketops.store.schema import lead_events

N = 150


def test_two_workers_fire_each_timer_once(workspace_dir, pg_database, monkeypatch) -> None:
    ctx = open_ctx(workspace_dir, pg_database, monkeypatch)
    raws = [
        {
            "email": f"w{i}@acme.example",
            "title": "CEO",
            "activity": "demo_request",
            "message": "pricing",
        }
        for i in range(N)
    ]
    capture(ctx, Batch(raws, "test", [None] * N, [None] * N), FRIDAY_1630_NY)
    assert len(timers(ctx)) == 2 * N
    later = FRIDAY_1630_NY + timedelta(days=30)  # the workers were down: everything is overdue
    workers = [open_ctx(workspace_dir, pg_database, monkeypatch) for _ in range(2)]
    handled = [0, 0]
    start = threading.Barrier(2)

    def run(i: int) -> None:
        start.wait()
        while (n := sla_tick(workers[i], later)) > 0:
            handled[i] += n

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 2N resolved due times are not counted twice either: both workers share the work
    fired = [t for t in timers(ctx) if t["status"] == "fired"]
    assert len(fired) == 2 * N
    assert sum(handled) == 2 * N
    sent = outbox_rows(ctx)
    assert len(sent) == 2 * N
    assert len({s["idempotency_key"] for s in sent}) == 2 * N
    with ctx.engine.connect() as conn:
        assert (
            conn.scalar(
                select(func.count()).select_from(lead_events).where(lead_events.c.kind == "stage")
            )
            == N
        )
    for w in (*workers, ctx):
        w.close()
