"""Capture, dedupe, quarantine and replay against a real SQLite file and a real PostgreSQL."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from marketops.services import quarantine as q
from marketops.services.capture import Batch, capture
from marketops.services.leads import capture_one, get_lead
from marketops.store.schema import activities, leads, suppressions

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


def _count(ctx, table) -> int:
    with ctx.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(table))


def test_second_submission_updates_the_same_person(ctx) -> None:
    status, first = capture_one(
        ctx, {"email": "Ann.Lee@Globex.example", "first_name": "ann", "activity": "form_fill"}, NOW
    )
    assert status == 201 and first["status"] == "created"
    assert first["lifecycle_stage"] == "Known"
    status, second = capture_one(
        ctx,
        {
            "email": " ann.lee@globex.example",
            "title": "VP Marketing",
            "activity": "demo_request",
            "message": "pricing please",
        },
        NOW + timedelta(hours=1),
    )
    assert status == 200 and second["id"] == first["id"] and second["status"] == "updated"
    assert _count(ctx, leads) == 1 and _count(ctx, activities) == 2
    lead = get_lead(ctx, first["id"])
    assert lead["title"] == "VP Marketing" and lead["first_name"] == "Ann"
    assert lead["company"] == "Globex"  # from the local enrichment CSV
    kinds = [h["kind"] for h in lead["history"]]
    assert kinds[0] == "created" and "updated" in kinds
    update = next(h for h in lead["history"] if h["kind"] == "updated")
    assert update["data"]["changes"]["title"] == {"from": None, "to": "VP Marketing"}
    assert second["lifecycle_stage"] == "MQL"  # demo request + VP at a 1,800-person company
    assert second["assignment"]["queue"] == "inbound-sdr"
    stage = [h for h in lead["history"] if h["kind"] == "stage"][-1]
    assert stage["data"]["from"] == "Known" and "threshold" in stage["data"]["reason"]


def test_bad_record_is_quarantined_with_reasons_then_replayed(ctx) -> None:
    status, body = capture_one(ctx, {"email": "bob at initech", "activity": "fax"}, NOW)
    assert status == 422
    reasons = {(e["field"], e["rule"]) for e in body["errors"]}
    assert reasons == {("email", "format"), ("activity", "validValues")}
    assert _count(ctx, leads) == 0
    record = q.show(ctx, body["quarantine_id"])
    assert record["payload"]["email"] == "bob at initech" and record["status"] == "open"
    still = q.replay(ctx, NOW, [record["id"]], {"email": "bob@initech.example"})
    assert still["replayed"] == [] and "activity" in str(still["still_failing"])
    done = q.replay(ctx, NOW, [record["id"]], {"activity": "form_fill"})
    assert done["replayed"] == [record["id"]]
    assert q.show(ctx, record["id"])["status"] == "replayed"
    assert _count(ctx, leads) == 1
    assert q.replay(ctx, NOW)["replayed"] == []  # nothing open: replay is idempotent


def test_suppressed_leads_are_stored_but_not_routed(ctx) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(
            suppressions.insert().values(
                channel="sales", kind="domain", value="hooli.example", created_at=NOW
            )
        )
    status, body = capture_one(
        ctx, {"email": "gavin@hooli.example", "activity": "demo_request", "title": "CEO"}, NOW
    )
    assert status == 201 and body["suppressed"] is True
    assert body["assignment"] == {"queue": None, "owner": None, "rule": None, "changed": False}
    # the workspace's own do-not-contact CSV is honoured too
    _, body = capture_one(ctx, {"email": "legal@acme.example"}, NOW)
    assert body["suppressed"] is True


def test_round_robin_follows_weights_across_batches(ctx) -> None:
    raws = [
        {
            "email": f"p{i}@gmail.com",
            "activity": "demo_request",
            "title": "CEO",
            "message": "demo please",
            "employees": 5000,
        }
        for i in range(9)
    ]
    outcomes = []
    for start in range(0, 9, 4):  # three transactions: the cursor must carry over
        part = raws[start : start + 4]
        outcomes += capture(ctx, Batch(part, "test", [None] * len(part), [None] * len(part)), NOW)
    owners = [o.owner for o in outcomes]
    assert all(o.queue == "inbound-sdr" for o in outcomes)
    assert owners == ["ava.sdr", "ben.sdr", "ava.sdr"] * 3


def test_repeated_email_inside_one_batch_is_one_person(ctx) -> None:
    raws = [
        {"email": "dup@acme.example", "activity": "form_fill"},
        {"email": "DUP@acme.example ", "activity": "pricing_page"},
    ]
    out = capture(ctx, Batch(raws, "test", ["r1", "r2"], [1, 2]), NOW)
    assert [o.status for o in out] == ["accepted", "updated"]
    assert out[0].lead_id == out[1].lead_id
    assert _count(ctx, leads) == 1 and _count(ctx, activities) == 2
