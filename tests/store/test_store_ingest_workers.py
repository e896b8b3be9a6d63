"""Batch ingestion with worker processes: the same store, row for row, as the one-process path.

Workers decide every record as if its email were new; the writer keeps that only when it is, and
decides the rest again. These tests pin that the result never depends on which path ran: same
leads, activities, events (in order), SLA timers, quarantine and round-robin positions.
"""

import csv
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from marketops.sample import generate, write_csv
from marketops.services import ingest as ingest_mod
from marketops.services.context import AppContext
from marketops.services.ingest import ingest_file
from marketops.store.schema import (
    activities,
    ingest_runs,
    lead_events,
    leads,
    quarantine,
    queue_cursors,
)
from marketops.store.tables_lifecycle import sla_timers
from marketops.workspace import Workspace

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


def _reference(ctx: AppContext, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch):
    """A second, empty store of the same kind as `ctx`'s, for the one-process run."""
    if ctx.engine.dialect.name == "sqlite":
        url = f"sqlite:///{tmp_path / 'reference.db'}"
    else:
        url = request.getfixturevalue("postgres_server").create_database()
    monkeypatch.setenv("MARKETOPS_DATABASE_URL", url)
    return AppContext.open(Workspace.load(ctx.workspace.root))


def _dump(engine: Engine) -> dict[str, Any]:
    """Everything ingestion writes, with lead ids replaced by emails (ids are random)."""
    with engine.connect() as conn:
        email = dict(conn.execute(select(leads.c.id, leads.c.email)).all())
        lead_cols = [c for c in leads.c if c.name != "id"]
        out: dict[str, Any] = {
            "leads": sorted(
                (tuple(r) for r in conn.execute(select(*lead_cols))), key=lambda r: r[0]
            ),
            "quarantine": [
                tuple(r)
                for r in conn.execute(
                    select(
                        quarantine.c.source_ref,
                        quarantine.c.row_number,
                        quarantine.c.payload,
                        quarantine.c.errors,
                    ).order_by(quarantine.c.id)
                )
            ],
            "cursors": sorted(tuple(r) for r in conn.execute(select(queue_cursors))),
        }
        for name, table in (("activities", activities), ("events", lead_events)):
            cols = [c for c in table.c if c.name not in ("id", "lead_id")]
            out[name] = [
                (email[r[0]], *r[1:])
                for r in conn.execute(select(table.c.lead_id, *cols).order_by(table.c.id))
            ]
        cols = [c for c in sla_timers.c if c.name not in ("id", "lead_id")]
        out["timers"] = [
            (email[r[0]], *r[1:])
            for r in conn.execute(select(sla_timers.c.lead_id, *cols).order_by(sla_timers.c.id))
        ]
    return out


def test_workers_give_the_one_process_result(ctx, request, tmp_path: Path, monkeypatch) -> None:
    path = write_csv(tmp_path / "leads.csv", 2400, seed=21, now=NOW)
    reference = _reference(ctx, request, tmp_path, monkeypatch)
    one = ingest_file(reference, path, batch_size=300, workers=1, now=lambda: NOW)
    # on SQLite three chunks per transaction (3 + 3 + 2): later chunks read earlier ones uncommitted
    two = ingest_file(ctx, path, batch_size=300, workers=2, now=lambda: NOW, commit_rows=900)
    assert two.as_dict() == one.as_dict()
    assert one.updated > 0 and one.quarantined > 0 and one.mql > 0
    want, got = _dump(reference.engine), _dump(ctx.engine)
    for table in want:
        assert got[table] == want[table], table
    assert len(want["timers"]) > 0
    reference.close()


def test_workers_give_the_one_process_result_from_json_lines(
    ctx, request, tmp_path: Path, monkeypatch
) -> None:
    """JSON lines travel to the workers as dicts (repeats marked from the dict's email), with
    a line that is not JSON among them."""
    rows = list(csv.DictReader(write_csv(tmp_path / "leads.csv", 900, seed=5, now=NOW).open()))
    lines = [json.dumps({k: v for k, v in r.items() if v != ""}) for r in rows]
    lines.insert(100, "{not json")
    path = tmp_path / "leads.jsonl"
    path.write_text("\n".join(lines) + "\n")
    reference = _reference(ctx, request, tmp_path, monkeypatch)
    one = ingest_file(reference, path, batch_size=200, workers=1, now=lambda: NOW)
    two = ingest_file(ctx, path, batch_size=200, workers=2, now=lambda: NOW)
    assert two.as_dict() == one.as_dict()
    assert one.updated > 0 and one.quarantined > 0
    want, got = _dump(reference.engine), _dump(ctx.engine)
    for table in want:
        assert got[table] == want[table], table
    reference.close()


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def test_duplicate_email_split_across_chunks_in_flight(ctx, tmp_path: Path) -> None:
    """One person three times: twice in the first chunk, once in the next (speculated by the
    other worker before the first chunk was written). One lead, three activities."""
    rows = [{**r, "email": f"filler{i}@example.org"} for i, r in enumerate(generate(12, seed=4))]
    person = {**rows[0], "email": "Jane.Doe@Initech.com", "activity": "webinar"}
    rows[1] = person
    rows[3] = {**person, "email": " jane.doe@initech.com ", "activity": "demo_request"}
    rows[9] = {**person, "email": "JANE.DOE@INITECH.COM", "activity": "pricing_page"}
    path = _write(tmp_path / "dupes.csv", rows)
    stats = ingest_file(ctx, path, batch_size=6, workers=2, now=lambda: NOW)
    assert stats.rows == 12 and stats.updated == 2
    with ctx.engine.connect() as conn:
        (lead_id,) = conn.execute(
            select(leads.c.id).where(leads.c.email == "jane.doe@initech.com")
        ).one()
        kinds = conn.execute(
            select(activities.c.type)
            .where(activities.c.lead_id == lead_id)
            .order_by(activities.c.id)
        ).scalars()
        assert list(kinds) == ["webinar", "demo_request", "pricing_page"]
        history = conn.execute(
            select(lead_events.c.kind)
            .where(lead_events.c.lead_id == lead_id)
            .order_by(lead_events.c.id)
        ).scalars()
        history = list(history)
        assert history[0] == "created" and history.count("updated") == 2


def test_csv_quotes_newlines_and_blank_lines_count_rows_as_the_reader_does(
    ctx, tmp_path: Path
) -> None:
    path = tmp_path / "odd.csv"
    path.write_text(
        "email,first_name,message,activity,extra \n"
        'a@example.org,Ann,"line one\nline two, with a comma",form_fill,x\n'
        "\n"
        "b@example.org,Bob,,nonsense_activity\n"  # short row; quarantined
        'c@example.org,"Cy ""the"" Kid",plain,demo_request,y,surplus\n'
    )
    stats = ingest_file(ctx, path, workers=2, now=lambda: NOW)
    assert (stats.rows, stats.accepted, stats.quarantined) == (3, 2, 1)
    with ctx.engine.connect() as conn:
        got = dict(conn.execute(select(leads.c.email, leads.c.first_name)).all())
        assert got == {"a@example.org": "Ann", "c@example.org": 'Cy "the" Kid'}
        msg = conn.execute(
            select(activities.c.details).join(leads).where(leads.c.email == "a@example.org")
        ).scalar_one()
        assert msg["message"] == "line one line two, with a comma" and msg["row"] == 1
        (row,) = conn.execute(select(quarantine.c.row_number, quarantine.c.payload)).all()
        assert row[0] == 2 and row[1]["extra"] is None and row[1]["email"] == "b@example.org"


def test_crash_mid_file_with_workers_resumes_without_loss_or_duplicates(
    ctx, request, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_csv(tmp_path / "leads.csv", 1500, seed=17, now=NOW)
    real = ingest_mod.commit_chunks
    calls = {"n": 0}
    sqlite = ctx.engine.dialect.name == "sqlite"  # there two chunks per transaction

    def crashing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # die inside the third transaction, after its writes
            checkpoint = args[-1]

            def boom(conn, tally):
                checkpoint(conn, tally)
                raise KeyboardInterrupt("power cut")

            args = (*args[:-1], boom)
        return real(*args, **kwargs)

    monkeypatch.setattr(ingest_mod, "commit_chunks", crashing)
    scratch = tmp_path / "scratch"  # where SQLite's stage files go (`batch_stage`)
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    run = {"batch_size": 250, "workers": 2, "now": lambda: NOW, "commit_rows": 500}
    with pytest.raises(KeyboardInterrupt):
        ingest_file(ctx, path, **run)
    assert list(scratch.iterdir()) == []  # the stage files went with the failed run
    with ctx.engine.connect() as conn:  # two transactions committed
        done = conn.scalar(select(ingest_runs.c.rows_done))
    # of two chunks each on SQLite, or fewer when the next answer was not in yet (`Tail`)
    assert 250 <= done <= 1000 and done % 250 == 0 if sqlite else done == 500
    monkeypatch.setattr(ingest_mod, "commit_chunks", real)
    resumed = ingest_file(ctx, path, **run)
    assert resumed.resumed_from == done and resumed.rows == 1500
    assert list(scratch.iterdir()) == []

    reference = _reference(ctx, request, tmp_path, monkeypatch)
    clean = ingest_file(reference, path, batch_size=250, workers=1, now=lambda: NOW)
    assert resumed.as_dict() == clean.as_dict()
    want, got = _dump(reference.engine), _dump(ctx.engine)
    for table in want:
        assert got[table] == want[table], table
    reference.close()


def test_repeat_marker_marks_emails_seen_before_or_twice_in_a_chunk(ctx) -> None:
    """The reader marks which records may repeat a person (their normalized leads travel back
    so the writer need not prepare them again): emails seen in an earlier chunk, and every
    record of an email that appears twice in the chunk, matched as `normalize` matches them;
    and which come after an earlier record of that email (the workers leave those to the
    writer)."""
    from marketops.services.batch_worker import RepeatMarker, Setup

    setup = Setup(ctx.config, ctx.suppression_index(), [], None, "sqlite", "f.csv", "ab")
    setup.csv_header, setup.email_at = ["first_name", "email"], 1
    mark = RepeatMarker(setup)
    first = [(1, ["Ann", "ann@x.org"]), (2, ["Bob", " BOB@x.org"]), (3, ["Bo", "bob@x.org "])]
    assert mark(first) == ([1, 2], {2})  # the second Bob comes after the first
    second = [(4, ["Cy", "cy@x.org"]), (5, ["Ann", "ANN@X.ORG"]), (6, ["Short"])]
    assert mark(second) == ([1], {1})
    rows = RepeatMarker(Setup(ctx.config, ctx.suppression_index(), [], None, "sqlite", "f", "a"))
    assert rows([(1, {"email": "a@x.org"}), (2, {"email": "A@x.org"}), (3, {})]) == ([0, 1], {1})


def test_stage_folders_of_killed_ingests_are_swept(tmp_path, monkeypatch) -> None:
    """A killed ingest leaves its stage folder behind (no cleanup ran); the next ingest removes
    folders whose process is gone and leaves those of running ones (and folders not ours)."""
    import os
    import subprocess
    import sys

    from marketops.services import batch_stage

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    left = tmp_path / f"marketops-stage-{gone.pid}-abc"
    left.mkdir()
    (left / "chunk-1.db").write_bytes(b"staged rows")
    running = tmp_path / f"marketops-stage-{os.getppid()}-def"
    running.mkdir()
    unnamed = tmp_path / "marketops-stage-xyz"
    unnamed.mkdir()
    with batch_stage.stage_dir() as mine:
        assert Path(mine).name.startswith(f"marketops-stage-{os.getpid()}-")
        assert not left.exists()
        assert running.exists() and unnamed.exists()
    assert not Path(mine).exists()


@pytest.mark.parametrize(
    "header",
    [
        ["email", "first_name", "company"],
        [" email ", "first_name", "  company"],
        ["email", "", "company"],
        ["email", "  ", "company"],
        ["email", "email", "company"],
        ["email", " email", "company"],
    ],
)
def test_csv_rows_pair_as_the_dict_reader_does(header: list[str]) -> None:
    """`csv_row` (the workers' records from CSV lists) against `csv.DictReader`, trimmed keys,
    empty values None: short rows, long rows, blank names, names equal once trimmed."""
    from marketops.services.batch_worker import csv_row

    for values in (["a@x.org", "Ann", "Acme"], ["a@x.org", ""], ["a@x.org", "Ann", "Acme", "x"]):
        text = ",".join(header) + "\n" + ",".join(values) + "\n"
        (dict_row,) = list(csv.DictReader(text.splitlines()))
        want = {k.strip(): (v if v != "" else None) for k, v in dict_row.items() if k}
        assert csv_row(header, values) == want
        assert list(csv_row(header, values)) == list(want)  # keys in the same order


@pytest.mark.parametrize(
    "backend_url", ["sqlite"], indirect=True
)  # PostgreSQL has no such settings
def test_sqlite_batch_writer_holds_one_connection_with_a_large_cache(ctx, tmp_path: Path) -> None:
    """Every group of chunks commits on the one connection the ingest holds, with the bulk page
    cache and checkpoint interval; once the file is done no pooled connection keeps either."""
    from contextlib import ExitStack

    from sqlalchemy import event

    from marketops.store.db import (
        CACHE_KIB_BULK,
        CACHE_KIB_DEFAULT,
        WAL_PAGES_BULK,
        WAL_PAGES_DEFAULT,
    )

    path = write_csv(tmp_path / "leads.csv", 1200, seed=3, now=NOW)
    seen: list[tuple[int, int, int]] = []

    @event.listens_for(ctx.engine, "commit")
    def _at_commit(conn) -> None:  # type: ignore[no-untyped-def]
        raw = conn.connection.driver_connection
        cache = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
        wal = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()
        seen.append((id(raw), cache, wal))

    stats = ingest_file(ctx, path, batch_size=200, workers=2, now=lambda: NOW, commit_rows=400)
    event.remove(ctx.engine, "commit", _at_commit)
    assert stats.rows == 1200
    groups = seen[1:-1]  # the run's opening and closing transactions are the store's own
    # six chunks, two a group; fewer when the next answer was not in yet (`ingest.Tail`)
    assert 3 <= len(groups) <= 6 and len({raw for raw, _, _ in groups}) == 1
    assert {(cache, wal) for _, cache, wal in groups} == {(-CACHE_KIB_BULK, WAL_PAGES_BULK)}
    with ExitStack() as stack:
        pooled = max(1, ctx.engine.pool.checkedin())
        conns = [stack.enter_context(ctx.engine.connect()) for _ in range(pooled)]
        settings = {
            (
                c.exec_driver_sql("PRAGMA cache_size").scalar_one(),
                c.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one(),
            )
            for c in conns
        }
    assert settings == {(-CACHE_KIB_DEFAULT, WAL_PAGES_DEFAULT)}
