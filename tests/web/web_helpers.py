"""Seeding a workspace for dashboard tests: leads spread over weeks, stage moves, attribution files,
and one quarantined record that a fixed rule lets through on replay."""

from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select, update

from marketops.sample import generate
from marketops.services.capture import Batch, capture
from marketops.services.context import AppContext
from marketops.services.leads import capture_one
from marketops.store.schema import lead_events, leads
from marketops.workspace import Workspace

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery staple"
CONTRACT = "contracts/lead.odcs.yaml"
ACTIVITIES = (
    "[form_fill, demo_request, pricing_page, webinar, content_download, contact_sales, event_visit]"
)


def move(ctx: AppContext, lead_id: str, frm: str, to: str, at: datetime) -> None:
    """A stage move as the lifecycle records it (an event plus the lead's current stage)."""
    with ctx.engine.begin() as conn:
        conn.execute(
            insert(lead_events).values(
                lead_id=lead_id,
                at=at,
                kind="stage",
                actor="test",
                data={"from": frm, "to": to, "reason": "test"},
            )
        )
        conn.execute(update(leads).where(leads.c.id == lead_id).values(lifecycle_stage=to))


def seed_leads(ctx: AppContext, now: datetime, *, weeks: int = 10, per_week: int = 60) -> None:
    for k in range(weeks):
        at = now - timedelta(weeks=weeks - 1 - k, hours=1)
        rows = list(generate(per_week, seed=100 + k, now=at))
        capture(
            ctx,
            Batch(
                rows,
                f"seed-{k}",
                [f"seed:{k}:{i}" for i in range(len(rows))],
                list(range(len(rows))),
            ),
            at,
        )


def write_attribution(root: Path, now: datetime, people: int = 60) -> None:
    rng = random.Random(3)
    channels = ["paid_search", "email", "organic", "social", "direct"]
    tp, conv = [], []
    for p in range(people):
        start = now - timedelta(days=rng.randint(5, 60))
        for t in range(rng.randint(1, 4)):
            ch = rng.choice(channels)
            ts = start + timedelta(hours=6 * t)
            tp.append([f"p{p}", ts.isoformat(), ch, ch, "cpc", f"camp-{ch}", "", "visit"])
        if p % 3 == 0:
            conv.append(
                [
                    f"c{p}",
                    f"p{p}",
                    (start + timedelta(days=2)).isoformat(),
                    "closed_won",
                    "1000.00",
                    "true",
                ]
            )
    data = root / "data"
    with (data / "touchpoints.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["person_id", "ts", "channel", "source", "medium", "campaign", "content", "touch_type"]
        )
        w.writerows(tp)
    with (data / "conversions.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["conversion_id", "person_id", "ts", "kind", "amount", "won"])
        w.writerows(conv)
    with (root / "attribution.yml").open("a") as fh:
        fh.write(
            "sources:\n  touchpoints: data/touchpoints.csv\n  conversions: data/conversions.csv\n"
        )


def quarantine_fixable(root: Path, now: datetime) -> None:
    """Quarantine a `webinar` lead under a contract without `webinar`, then restore the contract,
    so replaying the record (in a server started afterwards) lets it through."""
    path = root / CONTRACT
    original = path.read_text()
    assert ACTIVITIES in original
    path.write_text(original.replace(ACTIVITIES, ACTIVITIES.replace("webinar, ", "")))
    try:
        ctx = AppContext.open(Workspace.load(root))
        status, body = capture_one(
            ctx, {"email": "replay.me@initech.example", "activity": "webinar"}, now
        )
        assert status == 422, body
        ctx.close()
    finally:
        path.write_text(original)


def seed_capabilities(ctx: AppContext, now: datetime) -> None:
    """What other capabilities store, made by their own use cases: SLA clocks (some met by a
    sales touch, the rest fired by the timer tick), two data-health runs, three requests."""
    from marketops.analytics.health.service import run_health
    from marketops.lifecycle.service import record_activity
    from marketops.lifecycle.timers import sla_tick
    from marketops.ops.intake.requests import NewRequest
    from marketops.ops.intake.service import create_request
    from marketops.store.tables_lifecycle import sla_timers

    with ctx.engine.connect() as conn:
        clocks = conn.execute(
            select(sla_timers.c.lead_id, sla_timers.c.started_at)
            .where(sla_timers.c.step == 0, sla_timers.c.started_at > now - timedelta(weeks=3))
            .order_by(sla_timers.c.id)
        ).all()
    for lead_id, started in clocks[::3]:  # a third get their first call within 30 minutes
        record_activity(ctx, lead_id, "call", actor="ava.sdr", now=started + timedelta(minutes=30))
    while sla_tick(ctx, now):
        pass
    run_health(ctx, now - timedelta(days=7))
    run_health(ctx, now)
    for i, (kind, inputs) in enumerate(
        [
            ("add-field", {"object": "lead", "field_name": "budget", "purpose": "scoring"}),
            ("create-segment", {"definition": "EMEA MQLs", "refresh": "daily"}),
            ("utm-link", {"url": "https://example.com/spring"}),
        ]
    ):
        create_request(
            ctx,
            NewRequest(type=kind, title=f"Request {i}", requester="ada@example.com", inputs=inputs),
            now=now - timedelta(days=20 * i),
            actor="test",
        )


def seed_workspace(root: Path, now: datetime) -> None:
    """Everything the dashboard pages chart, in one workspace."""
    quarantine_fixable(root, now - timedelta(days=1))
    ctx = AppContext.open(Workspace.load(root))
    try:
        seed_leads(ctx, now)
        with ctx.engine.connect() as conn:
            mqls = [
                r.id
                for r in conn.execute(
                    select(leads.c.id).where(leads.c.lifecycle_stage == "MQL").order_by(leads.c.id)
                )
            ]
        for i, lid in enumerate(mqls[: len(mqls) // 2]):
            move(ctx, lid, "MQL", "SAL", now - timedelta(days=2))
            if i % 2 == 0:
                move(ctx, lid, "SAL", "SQL", now - timedelta(days=1))
        seed_capabilities(ctx, now)
    finally:
        ctx.close()
    write_attribution(root, now)
