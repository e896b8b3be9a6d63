"""Journey email throughput: `render` alone, `send_email` (decide + enqueue the recipe), and
the outbox's composer (read the leads, render, sign the unsubscribe link) at delivery.

N consented leads, one `send_email` each, 500 per transaction (as a journey tick would); every
decision must be `queued` and the outbox must hold exactly N emails, each of which the composer
must turn into a message. Prints the median of --repeat runs on SQLite and PostgreSQL. The peer
beside `render` is a bare Jinja2 sandbox render of the same template (what the token checks,
context building and footer cost on top).

    .venv/bin/python bench/email_send.py [--n 5000] [--repeat 3] [--no-postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select

from marketops.messaging.compose import email_composer
from marketops.messaging.render import compiled, environment, render, tokens_of
from marketops.messaging.send import send_email
from marketops.notify.outbox import Claimed
from marketops.services.context import AppContext
from marketops.store.schema import leads
from marketops.store.tables_notify import outbox
from marketops.testing.pgserver import temporary_server
from marketops.workspace import Workspace
from marketops.workspace.scaffold import init_workspace

NOW = datetime(2025, 6, 10, 14, 0, tzinfo=UTC)  # daytime in every zone below
TEMPLATE = "nurture_2"


def lead_row(i: int) -> dict:
    return dict(
        id=f"L{i:09d}",
        email=f"person{i}@example.com",
        first_name=None if i % 3 == 0 else f"Name{i}",
        company=f"Company {i % 97}",
        country=("US", "FR", "DE", "GB")[i % 4],
        lifecycle_stage="MQL",
        fit_score=0,
        engagement_score=0,
        total_score=0,
        suppressed=False,
        flags={},
        warnings=[],
        attributes={"plan_tier": "gold"},
        consent={"email": True},
        created_at=NOW,
        updated_at=NOW,
    )


def bench_render(ws: Workspace, n: int) -> tuple[float, float]:
    rows = [lead_row(i) for i in range(n)]
    t0 = time.perf_counter()
    for r in rows:
        render(TEMPLATE, r, None, ws, unsubscribe_url="https://x.example/u/t")
    ours = n / (time.perf_counter() - t0)
    tpl = compiled(ws.root, TEMPLATE)
    env = environment(html=True)
    html = env.from_string(tpl.model.html or "")
    t0 = time.perf_counter()
    for r in rows:
        values = tokens_of(r, None)
        tpl.subject.render(values)
        tpl.text.render(values)
        html.render(values)
    bare = n / (time.perf_counter() - t0)
    return ours, bare


def bench_compose(ctx: AppContext) -> float:
    """Emails/s for the delivery-time composer over every outbox row, 500 a call (a tick)."""
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(outbox)).all()
    claimed = [
        Claimed(r.id, r.idempotency_key, r.channel, r.destination, r.subject, r.payload, 1, "t")
        for r in rows
    ]
    compose = email_composer(ctx)
    t0 = time.perf_counter()
    done = [m for i in range(0, len(claimed), 500) for m in compose(claimed[i : i + 500])]
    rate = len(done) / (time.perf_counter() - t0)
    assert all(isinstance(m, Claimed) and m.payload.get("html") for m in done)
    return rate


def bench_send(workspace: Path, url: str, n: int) -> tuple[float, float]:
    os.environ["MARKETOPS_DATABASE_URL"] = url
    ctx = AppContext.open(Workspace.load(workspace))
    try:
        with ctx.engine.begin() as conn:
            for start in range(0, n, 1000):
                conn.execute(
                    insert(leads), [lead_row(i) for i in range(start, min(n, start + 1000))]
                )
        t0 = time.perf_counter()
        queued = 0
        for start in range(0, n, 500):
            with ctx.engine.begin() as conn:
                for i in range(start, min(n, start + 500)):
                    r = send_email(
                        conn, ctx, lead_id=f"L{i:09d}", template=TEMPLATE, ref="bench:1", now=NOW
                    )
                    queued += r.status == "queued"
        rate = n / (time.perf_counter() - t0)
        with ctx.engine.connect() as conn:
            in_outbox = conn.scalar(select(func.count()).select_from(outbox))
        assert queued == n == in_outbox, (queued, in_outbox)
        return rate, bench_compose(ctx)
    finally:
        ctx.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("MARKETOPS_SECRET_KEY", "bench-secret-key")
    base = Path(tempfile.mkdtemp(prefix="email-bench-"))
    stack = contextlib.ExitStack()  # the PostgreSQL server, stopped and deleted at the end
    pg = None if args.no_postgres else stack.enter_context(temporary_server("email-bench-pg-"))
    try:
        results: dict[str, list[float]] = {
            k: [] for k in ("render", "jinja", "sqlite", "postgres", "compose-sqlite", "compose-pg")
        }
        for run in range(args.repeat):
            ws_dir = base / f"ws{run}"
            init_workspace(ws_dir)
            ours, bare = bench_render(Workspace.load(ws_dir), args.n)
            results["render"].append(ours)
            results["jinja"].append(bare)
            sent, composed = bench_send(ws_dir, f"sqlite:///{ws_dir / 's.db'}", args.n)
            results["sqlite"].append(sent)
            results["compose-sqlite"].append(composed)
            if pg is not None:
                sent, composed = bench_send(ws_dir, pg.create_database(), args.n)
                results["postgres"].append(sent)
                results["compose-pg"].append(composed)
        med = {k: statistics.median(v) for k, v in results.items() if v}
        load = os.getloadavg()
        print(f"{args.n:,} leads, median of {args.repeat} runs, load average {load[0]:.2f}")
        print(f"render (ours):            {med['render']:>10,.0f} emails/s")
        print(
            f"render (bare Jinja2):     {med['jinja']:>10,.0f} emails/s  "
            f"(ours = {med['render'] / med['jinja']:.2f}x)"
        )
        print(f"send_email on SQLite:     {med['sqlite']:>10,.0f} emails/s (decide + enqueue)")
        print(
            f"compose at delivery, SQLite: {med['compose-sqlite']:>7,.0f} emails/s (render + sign)"
        )
        if "postgres" in med:
            print(f"send_email on PostgreSQL: {med['postgres']:>10,.0f} emails/s")
            print(f"compose at delivery, PostgreSQL: {med['compose-pg']:>3,.0f} emails/s")
    finally:
        stack.close()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
