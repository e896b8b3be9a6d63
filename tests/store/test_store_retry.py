"""A write transaction PostgreSQL aborts to break a deadlock is run again, not lost."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import insert, select, update

from marketops.services.capture import in_transaction
from marketops.services.context import AppContext
from marketops.store.schema import queue_cursors
from marketops.workspace import Workspace


def test_a_deadlocked_write_runs_again(workspace_dir, pg_database, monkeypatch) -> None:
    monkeypatch.setenv("MARKETOPS_DATABASE_URL", pg_database)
    ctx = AppContext.open(Workspace.load(workspace_dir))
    try:
        with ctx.engine.begin() as conn:
            conn.execute(insert(queue_cursors), [{"queue": q, "position": 0} for q in "ab"])
        both_hold_one = threading.Barrier(2)
        attempts: Counter[str] = Counter()

        def bump(conn, queue: str) -> None:
            c = queue_cursors.c
            conn.execute(
                update(queue_cursors).where(c.queue == queue).values(position=c.position + 1)
            )

        def writer(first: str, second: str) -> str:
            def write(conn) -> str:
                attempts[first] += 1
                bump(conn, first)
                if attempts[first] == 1:  # each holds one row and then wants the other's
                    both_hold_one.wait(timeout=30)
                bump(conn, second)
                return first

            return in_transaction(ctx, write)

        with ThreadPoolExecutor(2) as pool:
            done = [pool.submit(writer, "a", "b"), pool.submit(writer, "b", "a")]
            assert [f.result(timeout=60) for f in done] == ["a", "b"]
        assert sorted(attempts.values()) == [1, 2]  # one was aborted and ran again
        with ctx.engine.connect() as conn:
            rows = conn.execute(select(queue_cursors.c.queue, queue_cursors.c.position)).all()
        assert {q: p for q, p in rows if q in "ab"} == {"a": 2, "b": 2}  # both writes, once each
    finally:
        ctx.close()
