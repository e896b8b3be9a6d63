"""A write transaction PostgreSQL aborts to break a deadlock is run again, not lost."""

import logging
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import insert, select, text, update

from marketops.services.capture import in_transaction
from marketops.services.context import AppContext
from marketops.services.ingest import fingerprint, ingest_file
from marketops.store.schema import ingest_runs, leads, queue_cursors
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
        # one was aborted and ran again; a row lock is not handed to its waiter, so the retry can
        # take the freed row first and deadlock once more ([1, 3] under load): each write still lands once
        assert sum(attempts.values()) >= 3
        with ctx.engine.connect() as conn:
            rows = conn.execute(select(queue_cursors.c.queue, queue_cursors.c.position)).all()
        assert {q: p for q, p in rows if q in "ab"} == {"a": 2, "b": 2}  # both writes, once each
    finally:
        ctx.close()


def test_an_ingest_run_again_after_a_deadlock_counts_its_rows_once(
    workspace_dir, pg_database, monkeypatch, tmp_path, caplog
) -> None:
    """The store aborts an ingest's transaction at its checkpoint (deadlocked with another
    writer); the transaction runs again and the file's summary counts each row once."""
    monkeypatch.setenv("MARKETOPS_DATABASE_URL", pg_database)
    ctx = AppContext.open(Workspace.load(workspace_dir))
    path = tmp_path / "leads.csv"
    path.write_text(
        "email,first_name,country,employees,title\nann@acme.example,Ann,US,500,VP Marketing\n"
    )
    try:
        digest, _ = fingerprint(path)
        with ctx.engine.begin() as conn:  # the file's run, as a first attempt left it
            conn.execute(
                insert(ingest_runs).values(
                    fingerprint=digest,
                    path=path.name,
                    rows_done=0,
                    status="running",
                    stats={},
                    started_at=datetime.now(UTC),
                )
            )
        other = ctx.engine.connect()
        other_tx = other.begin()
        other.execute(text("SET LOCAL deadlock_timeout = '20s'"))  # the ingest finds the cycle
        other.execute(select(ingest_runs.c.id).with_for_update())  # holds the run's row

        def deadlock_the_ingest() -> None:
            # once the ingest waits for the run's row (its lead inserted), insert the same
            # person: a cycle, and PostgreSQL aborts the ingest, whose check runs first
            ask = text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND query LIKE 'UPDATE ingest_runs%'"
            )
            for _ in range(600):  # a fresh connection each time: a transaction sees one snapshot
                with ctx.engine.connect() as probe:
                    if probe.execute(ask).scalar_one():
                        break
                time.sleep(0.05)
            else:
                raise AssertionError("the ingest never waited for its run's row")
            now = datetime.now(UTC)
            other.execute(  # the same person: waits for the ingest's transaction to end
                insert(leads).values(
                    id="0" * 32,
                    email="ann@acme.example",
                    lifecycle_stage="Known",
                    consent={},
                    attributes={},
                    flags={},
                    warnings=[],
                    created_at=now,
                    updated_at=now,
                )
            )
            other_tx.rollback()  # it only had to hold the run's row and wait

        caplog.set_level(logging.WARNING)
        with ThreadPoolExecutor(1) as pool:
            blocker = pool.submit(deadlock_the_ingest)
            stats = ingest_file(ctx, path, workers=1)
            blocker.result(timeout=60)
        other.close()
        assert "running it again" in caplog.text  # the first attempt was aborted
        assert (stats.rows, stats.accepted) == (1, 1)
        assert sum(stats.routed.values()) == 1
        with ctx.engine.connect() as conn:
            saved = conn.execute(select(ingest_runs.c.stats)).scalar_one()
        assert (saved["rows"], saved["accepted"]) == (1, 1)
    finally:
        ctx.close()
