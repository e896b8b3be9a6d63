"""Segment events into the store on SQLite and PostgreSQL: touchpoints, linking, idempotency,
dead letters and replay, opportunities, costs, and the loader that feeds attribution and KPIs."""

from __future__ import annotations

from decimal import Decimal

from events_helpers import NOW, capture_lead, identify, opp, page
from sqlalchemy import func, select

from marketops.analytics.engines import connect
from marketops.events import service
from marketops.events.analytics import load_store
from marketops.store.tables_events import event_dead_letters, events, opportunities

AD_URL = "https://initech.example.com/p?utm_source=google&utm_medium=cpc&utm_campaign=brand"


def _frame(tables, name):
    return tables[name].to_pandas()


def test_page_with_utm_becomes_a_classified_touchpoint_linked_by_identify(ctx):
    lead_id = capture_lead(ctx)
    r = service.ingest(
        ctx,
        [
            page("p1", "anon-1", "2026-10-01T10:00:00Z", AD_URL),
            page("p2", "anon-1", "2026-10-02T10:00:00Z", "https://initech.example.com/about"),
            {
                "type": "page",
                "messageId": "p3",
                "anonymousId": "anon-1",
                "timestamp": "2026-10-02T11:00:00Z",
                "context": {
                    "campaign": {"source": "newsletter", "medium": "email", "name": "oct-news"}
                },
            },
            identify("i1", "anon-1"),
        ],
        source="api",
        now=NOW,
    )
    assert (r.accepted, r.touchpoints, r.linked, r.rejected) == (4, 2, 2, [])
    tp = _frame(load_store(ctx.engine, connect()), "touchpoints")
    assert list(tp.channel) == ["Paid Search", "Email"]  # GA4 default channel group
    assert list(tp.campaign) == ["brand", "oct-news"]
    assert set(tp.person_id) == {lead_id}  # email normalized, anonymous visits linked


def test_redelivery_is_idempotent_on_message_id(ctx):
    batch = [page("p1", "anon-1", "2026-10-01T10:00:00Z", AD_URL)] * 2
    first = service.ingest(ctx, batch, source="api", now=NOW)
    again = service.ingest(ctx, batch, source="api", now=NOW)
    assert (first.accepted, first.duplicates) == (1, 1)
    assert (again.accepted, again.duplicates, again.touchpoints) == (0, 2, 0)
    with ctx.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar() == 1


def test_identify_before_the_lead_exists_links_on_relink(ctx):
    service.ingest(
        ctx,
        [page("p1", "anon-9", "2026-10-01T10:00:00Z", AD_URL), identify("i1", "anon-9")],
        source="api",
        now=NOW,
    )
    tp = _frame(load_store(ctx.engine, connect()), "touchpoints")
    assert list(tp.person_id) == ["anon:anon-9"]
    lead_id = capture_lead(ctx)
    assert service.relink(ctx, NOW) == 2  # the anonymous id and the user id
    assert service.relink(ctx, NOW) == 0
    tp = _frame(load_store(ctx.engine, connect()), "touchpoints")
    assert list(tp.person_id) == [lead_id]


def test_bad_events_are_dead_lettered_with_field_errors_and_replayable(ctx):
    bad = {"type": "track", "messageId": "t1", "anonymousId": "a", "timestamp": "yesterday"}
    r = service.ingest(
        ctx, [bad, page("p1", "a", "2026-10-01T10:00:00Z", AD_URL)], source="api", now=NOW
    )
    assert r.accepted == 1 and len(r.rejected) == 1
    fields = {e["field"] for e in r.rejected[0].errors}
    assert fields == {"timestamp", "event"}  # every problem at once
    letters = service.dead_letters(ctx)
    assert letters[0]["payload"] == bad and letters[0]["message_id"] == "t1"
    # replaying unchanged keeps it open with its errors; a fixed payload goes through
    assert len(service.replay(ctx, NOW).rejected) == 1
    fixed = {**bad, "timestamp": "2026-10-01T12:00:00Z", "event": "Demo Requested"}
    done = service.replay(ctx, NOW, ids=[letters[0]["id"]], fixed=fixed)
    assert (done.accepted, done.rejected) == (1, [])
    with ctx.engine.connect() as conn:
        status = conn.execute(select(event_dead_letters.c.status)).scalar()
    assert status == "replayed" and service.dead_letters(ctx) == []


def test_opportunities_from_track_events_in_any_order(ctx):
    lead_id = capture_lead(ctx)
    r = service.ingest(
        ctx,
        [
            opp("o2", "Opportunity Won", "OPP-1", "2026-10-20T00:00:00Z"),
            opp("o1", "Opportunity Created", "OPP-1", "2026-10-05T00:00:00Z", "12000.50"),
            identify("i1", "anon-1"),
            opp("o3", "Opportunity Created", "OPP-2", "2026-10-06T00:00:00Z", "1.234"),
        ],
        source="api",
        now=NOW,
    )
    assert r.rejected[0].errors == [
        {"field": "properties.amount", "message": "not a money amount (at most 2 decimals)"}
    ]
    with ctx.engine.connect() as conn:
        row = conn.execute(select(opportunities)).one()._mapping
    assert (row["status"], row["amount"]) == ("won", Decimal("12000.50"))
    assert row["created_at"].day == 5 and row["closed_at"].day == 20
    tables = load_store(ctx.engine, connect())
    conv = _frame(tables, "conversions").sort_values("conversion_id")
    assert list(conv.kind) == ["lead_created", "opportunity", "closed_won"]
    assert set(conv.person_id) == {lead_id}
    assert _frame(tables, "opportunities").amount.tolist() == [Decimal("12000.50")]


def test_costs_file_adds_rows_of_one_key_and_reloads_safely(ctx, tmp_path):
    f = tmp_path / "costs.csv"
    f.write_text(
        "campaign,channel,day,spend\n"
        "brand,Paid Search,2026-10-01,100.00\n"
        "brand,Paid Search,2026-10-01,50.25\n"
        ",Email,2026-10-02,10\n"
    )
    assert service.load_costs(ctx, f) == 2
    assert service.load_costs(ctx, f) == 2
    costs = _frame(load_store(ctx.engine, connect()), "costs").sort_values("day")
    assert costs.spend.tolist() == [Decimal("150.25"), Decimal("10.00")]
    assert costs.campaign.isna().tolist() == [False, True]
