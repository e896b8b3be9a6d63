"""File ingestion: formats, summary, and crash-safety (nothing lost, nothing twice)."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import create_engine, func, select

from marketops.sample import generate, write_csv
from marketops.services import ingest as ingest_mod
from marketops.services.ingest import ingest_file
from marketops.store.schema import activities, ingest_runs, leads, quarantine

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


def _counts(engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(
            conn.scalar(select(func.count()).select_from(t))
            for t in (leads, activities, quarantine)
        )


def test_csv_ingest_counts_add_up(ctx, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", 1500, seed=3, now=NOW)
    stats = ingest_file(ctx, path, batch_size=400, now=lambda: NOW)
    assert stats.rows == 1500
    assert stats.accepted + stats.updated + stats.quarantined == 1500
    n_leads, n_acts, n_q = _counts(ctx.engine)
    assert n_leads == stats.accepted and n_acts == stats.accepted + stats.updated
    assert n_q == stats.quarantined > 0
    assert stats.updated > 0  # the sample repeats people with changed case/whitespace
    assert set(stats.quarantine_reasons) <= {
        "email: format",
        "email: required",
        "activity: validValues",
    }
    assert sum(stats.routed.values()) >= stats.accepted - stats.suppressed - 5
    again = ingest_file(ctx, path, batch_size=400, now=lambda: NOW)
    assert again.already_done and _counts(ctx.engine) == (n_leads, n_acts, n_q)


def test_jsonl_and_parquet_and_bad_lines(ctx, tmp_path: Path) -> None:
    rows = list(generate(50, seed=5, now=NOW))
    jsonl = tmp_path / "leads.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in rows[:25]) + "\n{not json\n[1, 2]\n")
    stats = ingest_file(ctx, jsonl, now=lambda: NOW)
    assert stats.rows == 27 and stats.quarantine_reasons["(line): json"] == 2
    table = pa.Table.from_pylist(
        [{k: (str(v) if v != "" else None) for k, v in r.items()} for r in rows[25:]]
    )
    parquet = tmp_path / "leads.parquet"
    pq.write_table(table, parquet)
    stats2 = ingest_file(ctx, parquet, now=lambda: NOW)
    assert stats2.rows == 25


def test_unsupported_file_type_is_a_clear_error(ctx, tmp_path: Path) -> None:
    from marketops.errors import MarketopsError

    bad = tmp_path / "leads.xlsx"
    bad.write_text("x")
    with pytest.raises(MarketopsError) as exc:
        ingest_file(ctx, bad)
    assert ".csv" in str(exc.value)


def test_crash_mid_batch_resumes_without_loss_or_duplicates(
    ctx, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_csv(tmp_path / "leads.csv", 1000, seed=11, now=NOW)
    real_capture = ingest_mod.capture
    calls = {"n": 0}

    def crashing_capture(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # die inside the third chunk's transaction, after its writes
            checkpoint = kwargs["extra_writes"]

            def boom(conn, outcomes):
                checkpoint(conn, outcomes)
                raise KeyboardInterrupt("power cut")

            kwargs = {**kwargs, "extra_writes": boom}
        return real_capture(*args, **kwargs)

    monkeypatch.setattr(ingest_mod, "capture", crashing_capture)
    with pytest.raises(KeyboardInterrupt):
        ingest_file(ctx, path, batch_size=200, now=lambda: NOW)
    with ctx.engine.connect() as conn:
        assert conn.scalar(select(ingest_runs.c.rows_done)) == 400  # two chunks committed
    monkeypatch.setattr(ingest_mod, "capture", real_capture)
    resumed = ingest_file(ctx, path, batch_size=200, now=lambda: NOW)
    assert resumed.resumed_from == 400 and resumed.rows == 1000
    crashed_counts = _counts(ctx.engine)

    # the same file into a clean store, without a crash, gives the very same result
    from marketops.services.context import AppContext
    from marketops.workspace import Workspace

    clean_db = tmp_path / "clean.db"
    monkeypatch.setenv("MARKETOPS_DATABASE_URL", f"sqlite:///{clean_db}")
    clean = AppContext.open(Workspace.load(ctx.workspace.root))
    ingest_file(clean, path, batch_size=200, now=lambda: NOW)
    assert _counts(clean.engine) == crashed_counts


def test_killed_process_resumes(workspace_dir: Path, tmp_path: Path) -> None:
    """A real `kill -9` of `marketops ingest` mid-file, then a re-run: exact counts."""
    path = write_csv(tmp_path / "big.csv", 12000, seed=13, now=NOW)
    db = workspace_dir / "marketops.db"
    cmd = [
        sys.executable,
        "-m",
        "marketops.cli",
        "ingest",
        str(path),
        "-w",
        str(workspace_dir),
        "--batch-size",
        "500",
        "--json",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    engine = create_engine(f"sqlite:///{db}")
    deadline = time.monotonic() + 120
    killed_at = None
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with engine.connect() as conn:
                done = conn.scalar(select(ingest_runs.c.rows_done))
        except Exception:  # table not created yet
            done = None
        if done and done >= 1000:
            os.kill(proc.pid, signal.SIGKILL)
            killed_at = done
            break
        time.sleep(0.02)
    proc.wait()
    assert killed_at is not None and killed_at < 12000, "ingest finished before it could be killed"
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    summary = json.loads(out.stdout[out.stdout.index("{") :])
    assert summary["resumed_from"] >= killed_at and summary["rows"] == 12000
    n_leads, n_acts, n_q = _counts(engine)
    assert n_leads == summary["accepted"] and n_acts == summary["accepted"] + summary["updated"]
    assert n_q == summary["quarantined"]
    with engine.connect() as conn:
        refs = conn.scalar(select(func.count(func.distinct(activities.c.source_ref))))
    assert refs == n_acts  # every row's activity exactly once
