"""Stored membership on SQLite and PostgreSQL: incremental refresh, window expiry, batch
recompute, lists and imports, and exactly-once change logging across a killed refresh."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from marketops.segments import membership, service
from marketops.segments.imports import import_list, pending
from marketops.services.capture import Batch, capture
from marketops.store.schema import activities
from marketops.store.tables_segments import segment_changes
from marketops.worker.jobs import registered_jobs

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
SEGMENTS = """
segments:
  - name: pricing-fans
    rule:
      all:
        - activity: {type: pricing_page, at_least: 2, within_days: 30}
        - {field: country, equals: de}
  - name: open-ticket
    suppression: true
    rule: {activity: {type: support_ticket_opened, without_later: support_ticket_closed}}
  - name: vip-and-active
    rule: {all: [{in_list: vip}, {activity: {type: pricing_page, within_days: 30}}]}
lists:
  - name: vip
"""


def _setup(ctx) -> None:
    (ctx.workspace.root / "segments.yml").write_text(SEGMENTS)


def _cap(ctx, raws, now=T0) -> list[str]:
    out = capture(ctx, Batch(raws, "test", [None] * len(raws), [None] * len(raws)), now)
    return [o.lead_id for o in out]


def _act(ctx, lead_id: str, kind: str, at: datetime) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(
            insert(activities).values(lead_id=lead_id, type=kind, occurred_at=at, details={})
        )


def _changes(ctx, segment: str) -> list[tuple[str, str]]:
    with ctx.engine.connect() as conn:
        q = select(segment_changes.c.lead_id, segment_changes.c.change).where(
            segment_changes.c.segment == segment
        )
        return [tuple(r) for r in conn.execute(q.order_by(segment_changes.c.id))]


def _members(ctx, segment: str) -> set[str]:
    return {m["lead_id"] for m in service.members_page(ctx, segment, limit=1000)["members"]}


def test_refresh_follows_activities_time_and_lists(ctx) -> None:
    _setup(ctx)
    a, b, c = _cap(
        ctx,
        [
            {"email": "ann@acme.example", "country": "DE"},
            {"email": "bob@acme.example", "country": "DE"},
            {"email": "cyd@globex.example", "country": "US"},
        ],
    )
    for lead, days in ((a, 1), (a, 10), (b, 2), (c, 1), (c, 2), (c, 3)):
        _act(ctx, lead, "pricing_page", T0 - timedelta(days=days))
    assert service.refresh(ctx, T0) > 0  # first refresh: batch recompute of every segment
    assert _members(ctx, "pricing-fans") == {a}
    assert service.refresh(ctx, T0) == 0  # nothing changed: nothing written

    _act(ctx, b, "pricing_page", T0 + timedelta(hours=1))
    assert service.refresh(ctx, T0 + timedelta(hours=2)) == 1
    assert _members(ctx, "pricing-fans") == {a, b}

    # time passes: a's visit of T0-10d leaves the 30-day window at T0+20d, b's of T0-2d at T0+28d
    service.refresh(ctx, T0 + timedelta(days=21))
    assert _members(ctx, "pricing-fans") == {b}
    service.refresh(ctx, T0 + timedelta(days=29))
    assert _members(ctx, "pricing-fans") == set()
    assert _changes(ctx, "pricing-fans") == [
        (a, "entered"),
        (b, "entered"),
        (a, "exited"),
        (b, "exited"),
    ]

    # a changed lead (moves to DE) is picked up from leads.updated_at
    now = T0 + timedelta(days=29, hours=1)
    _act(ctx, c, "pricing_page", now - timedelta(hours=1))
    _act(ctx, c, "pricing_page", now - timedelta(minutes=30))
    service.refresh(ctx, now)
    assert c not in _members(ctx, "pricing-fans")
    _cap(ctx, [{"email": "cyd@globex.example", "country": "DE"}], now + timedelta(minutes=1))
    service.refresh(ctx, now + timedelta(minutes=2))
    assert _members(ctx, "pricing-fans") == {c}

    # suppression: an open ticket until it is closed
    _act(ctx, a, "support_ticket_opened", now)
    service.refresh(ctx, now + timedelta(minutes=3))
    with ctx.engine.connect() as conn:
        assert service.is_member(conn, "open-ticket", a)
        assert service.memberships(conn, a) == {"open-ticket"}
    _act(ctx, a, "support_ticket_closed", now + timedelta(minutes=4))
    service.refresh(ctx, now + timedelta(minutes=5))
    assert _members(ctx, "open-ticket") == set()

    # list edits in the caller's transaction; a rule on the list follows at the next refresh
    later = now + timedelta(minutes=10)
    with ctx.engine.begin() as conn:
        assert service.add_to_list(conn, "vip", [a, c], later, source="test") == 2
        assert service.add_to_list(conn, "vip", [a], later, source="test") == 0
    service.refresh(ctx, later)
    assert _members(ctx, "vip-and-active") == {c}
    with ctx.engine.begin() as conn:
        assert service.remove_from_list(conn, "vip", [c, b], later, source="test") == 1
    service.refresh(ctx, later + timedelta(seconds=1))
    assert _members(ctx, "vip-and-active") == set()
    vip = _changes(ctx, "vip")
    assert sorted(vip[:2]) == sorted([(a, "entered"), (c, "entered")]) and vip[2:] == [
        (c, "exited")
    ]

    # the batch path agrees with what the increments built
    out = service.recompute(ctx, later + timedelta(seconds=1))
    assert all(v["entered"] == v["exited"] == 0 for v in out.values()), out
    assert out["pricing-fans"]["members"] == 1


def test_editing_a_segment_recomputes_it_and_preview_needs_no_save(ctx) -> None:
    _setup(ctx)
    ids = _cap(ctx, [{"email": f"p{i}@acme.example", "country": "DE"} for i in range(6)])
    for lead in ids[:4]:
        _act(ctx, lead, "pricing_page", T0 - timedelta(days=1))
    service.refresh(ctx, T0)
    assert _members(ctx, "vip-and-active") == set()
    snippet = service.parse_definition(
        {"rule": {"activity": {"type": "pricing_page", "within_days": 7}}},
        "snippet",
        service.config(ctx),
    )
    shown = service.preview(ctx, snippet, T0, sample=2)
    assert shown["count"] == 4 and len(shown["sample"]) == 2
    assert shown["sample"][0]["id"] in ids[:4]

    (ctx.workspace.root / "segments.yml").write_text(
        SEGMENTS.replace("at_least: 2, within_days: 30", "at_least: 1, within_days: 30")
    )
    ctx.workspace._extras.clear()  # a new process would read the edited file
    service.refresh(ctx, T0 + timedelta(minutes=1))
    assert _members(ctx, "pricing-fans") == set(ids[:4])


def test_a_segment_of_segments_follows_its_parts_in_refresh_and_recompute(ctx) -> None:
    (ctx.workspace.root / "segments.yml").write_text(
        SEGMENTS.replace(
            "lists:\n",
            "  - name: keen-not-ticketed\n"
            "    rule: {all: [{in_segment: pricing-fans}, {not: {in_segment: open-ticket}}]}\n"
            "lists:\n",
        )
    )
    a, b = _cap(ctx, [{"email": f"{n}@acme.example", "country": "DE"} for n in ("sg-a", "sg-b")])
    for lead in (a, b):
        for day in (1, 2):
            _act(ctx, lead, "pricing_page", T0 - timedelta(days=day))
    service.refresh(ctx, T0)
    assert _members(ctx, "keen-not-ticketed") == {a, b}
    _act(ctx, b, "support_ticket_opened", T0 + timedelta(minutes=1))
    service.refresh(ctx, T0 + timedelta(minutes=2))  # incremental: the Python evaluator
    assert _members(ctx, "keen-not-ticketed") == {a}
    assert _members(ctx, "open-ticket") == {b}
    out = service.recompute(ctx, T0 + timedelta(minutes=3), ["keen-not-ticketed"])  # DuckDB SQL
    assert out["keen-not-ticketed"] == {"members": 1, "entered": 0, "exited": 0}


def test_a_removed_segment_is_emptied_and_recomputed_if_declared_again(ctx) -> None:
    _setup(ctx)
    ids = _cap(ctx, [{"email": f"r{i}@acme.example", "country": "DE"} for i in range(3)])
    for lead in ids:
        for day in (1, 2):
            _act(ctx, lead, "pricing_page", T0 - timedelta(days=day))
    with ctx.engine.begin() as conn:
        service.add_to_list(conn, "vip", ids[:1], T0, source="test")
    service.refresh(ctx, T0)
    assert _members(ctx, "pricing-fans") == set(ids)

    without = (
        SEGMENTS.replace(
            SEGMENTS[
                SEGMENTS.index("  - name: pricing-fans") : SEGMENTS.index("  - name: open-ticket")
            ],
            "",
        )
        .replace("lists:\n  - name: vip\n", "lists: []\n")
        .replace("{in_list: vip}, ", "")
    )
    (ctx.workspace.root / "segments.yml").write_text(without)
    ctx.workspace._extras.clear()
    service.refresh(ctx, T0 + timedelta(minutes=1))
    with ctx.engine.connect() as conn:  # stored rows: the names are no longer declared
        assert membership.members_of(conn, "pricing-fans") == set()
        assert membership.members_of(conn, "vip") == {ids[0]}  # imported list members are kept
    assert Counter(c for _, c in _changes(ctx, "pricing-fans")) == {"entered": 3, "exited": 3}

    (ctx.workspace.root / "segments.yml").write_text(SEGMENTS)  # declared again, unchanged
    ctx.workspace._extras.clear()
    service.refresh(ctx, T0 + timedelta(minutes=2))
    assert _members(ctx, "pricing-fans") == set(ids)


def test_list_import_reports_unmatched_rows_and_replays_them(ctx, tmp_path: Path) -> None:
    _setup(ctx)
    a, b = _cap(ctx, [{"email": "ann@acme.example"}, {"email": "bob@acme.example"}])
    csv = tmp_path / "attendees.csv"
    csv.write_text(
        "Email,name\nANN@acme.example ,Ann\nnew.person@initech.example,New\n,blank\nbob@acme.example,Bob\n"
    )
    out = import_list(ctx, "vip", csv, T0)
    assert (out["rows"], out["added"], out["already"]) == (4, 2, 0)
    assert out["pending"] == [
        {"row": 3, "reason": "no lead with this email"},
        {"row": 4, "reason": "row has neither an email nor a lead_id"},
    ]
    again = import_list(ctx, "vip", csv, T0 + timedelta(minutes=1))  # a re-run adds nothing twice
    assert (again["added"], again["already"]) == (0, 2)
    kept = pending(ctx, "vip")
    assert [(r["row_number"], r["email"]) for r in kept] == [
        (3, "new.person@initech.example"),
        (4, None),
    ]

    (new,) = _cap(ctx, [{"email": "new.person@initech.example"}], T0 + timedelta(hours=1))
    service.refresh(ctx, T0 + timedelta(hours=1))  # the refresh retries kept rows
    assert _members(ctx, "vip") == {a, b, new}
    assert [r["row_number"] for r in pending(ctx, "vip")] == [4]
    assert _changes(ctx, "vip").count((new, "entered")) == 1

    by_id = tmp_path / "ids.csv"
    by_id.write_text(f"lead_id\n{a}\nnot-a-lead\n")
    out = import_list(ctx, "vip", by_id, T0)
    assert out["already"] == 1 and out["pending"] == [
        {"row": 3, "reason": "no lead with this lead_id"}
    ]


CHILD = """
import sys
from datetime import datetime
from marketops.segments.service import refresh
from marketops.services.context import AppContext
from marketops.workspace import Workspace
ctx = AppContext.open(Workspace.load(sys.argv[1]))
refresh(ctx, datetime.fromisoformat(sys.argv[2]), chunk=1)
"""


def test_a_refresh_killed_midway_then_rerun_logs_each_change_once(ctx, backend_url: str) -> None:
    _setup(ctx)
    ids = _cap(ctx, [{"email": f"k{i}@acme.example", "country": "DE"} for i in range(600)])
    service.refresh(ctx, T0)  # state exists: the next refresh is incremental, one lead per commit
    now = T0 + timedelta(hours=1)
    with ctx.engine.begin() as conn:
        conn.execute(
            insert(activities),
            [
                {
                    "lead_id": lead,
                    "type": "pricing_page",
                    "occurred_at": T0 - timedelta(hours=h),
                    "details": {},
                }
                for lead in ids
                for h in (1, 2)
            ],
        )
    env = {**os.environ, "MARKETOPS_DATABASE_URL": backend_url}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(ctx.workspace.root), now.isoformat()], env=env
    )
    try:
        deadline = time.monotonic() + 120
        done = 0
        while time.monotonic() < deadline and child.poll() is None:
            with ctx.engine.connect() as conn:
                done = conn.execute(select(func.count()).select_from(segment_changes)).scalar()
            if done >= 50:
                break
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
    assert 0 < done < len(ids), "the refresh was not interrupted midway"
    with ctx.engine.connect() as conn:
        committed = conn.execute(select(func.count()).select_from(segment_changes)).scalar()
    job = registered_jobs()["segments.refresh"]  # what `marketops worker` runs
    assert job.fn(ctx, now) == len(ids) - committed
    assert job.fn(ctx, now) == 0
    log = _changes(ctx, "pricing-fans")
    assert Counter(log) == Counter((lead, "entered") for lead in ids)
    assert _members(ctx, "pricing-fans") == set(ids)
