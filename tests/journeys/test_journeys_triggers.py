"""Every entry trigger, read after its watermark: form fill, stage move, score crossing, a
pipeline track event (linked by identity); published journeys do not back-fill history; the
re-entry policy with a cooldown."""

from __future__ import annotations

from journeys_helpers import Clock, enrolment, lead, write_journey
from sqlalchemy import select

from marketops.events.service import ingest
from marketops.journeys.runner import drain
from marketops.journeys.versions import publish
from marketops.lifecycle.service import move_lead
from marketops.store.tables_journeys import journey_enrolments

ONE_STEP = [{"id": "tag", "update_field": {"field": "seen", "value": 1}}]


def _entered(ctx, name: str) -> list[str]:
    with ctx.engine.connect() as conn:
        return list(
            conn.execute(
                select(journey_enrolments.c.lead_id)
                .where(journey_enrolments.c.journey == name)
                .order_by(journey_enrolments.c.id)
            ).scalars()
        )


def test_entry_triggers(ctx) -> None:
    clock = Clock()
    root = ctx.workspace.root
    before = lead(ctx, "early@t.example", clock(), activity="form_fill")  # before publish
    for name, entry in {
        "forms": {"form_fill": True},
        "to-sal": {"stage": {"to": "SAL", "from": "MQL"}},
        "hot": {"score": {"gte": 40}},
        "trial": {"track": "Trial Started"},
    }.items():
        write_journey(root, name, {"entry": entry, "steps": ONE_STEP})
        publish(ctx, name, now=clock())
    clock.advance(minutes=1)
    form = lead(ctx, "form@t.example", clock(), activity="form_fill")
    cold = lead(ctx, "cold@t.example", clock(), activity="webinar")
    hot = lead(ctx, "ceo@t.example", clock(), title="CEO", activity="demo_request")
    move_lead(ctx, cold, "MQL", actor="x", reason=None, now=clock())
    move_lead(ctx, cold, "SAL", actor="x", reason=None, now=clock())
    ingest(
        ctx,
        [
            {
                "type": "identify",
                "messageId": "m1",
                "userId": "u-9",
                "timestamp": "2026-03-02T15:00:00Z",
                "traits": {"email": "form@t.example"},
            },
            {
                "type": "track",
                "messageId": "m2",
                "userId": "u-9",
                "event": "Trial Started",
                "timestamp": "2026-03-02T15:01:00Z",
            },
            {
                "type": "track",
                "messageId": "m3",
                "userId": "u-unknown",
                "event": "Trial Started",
                "timestamp": "2026-03-02T15:01:00Z",
            },
        ],
        source="test",
        now=clock(),
    )
    drain(ctx, clock)
    assert _entered(ctx, "forms") == [form]  # `before` filled a form before publish: no back-fill
    assert before not in _entered(ctx, "forms")
    assert _entered(ctx, "to-sal") == [cold]
    assert _entered(ctx, "hot") == [hot]
    assert _entered(ctx, "trial") == [form]
    assert enrolment(ctx, "forms", form)["status"] == "completed"


def test_reentry_after_exit_with_cooldown(ctx) -> None:
    clock = Clock()
    body = {
        "entry": {"form_fill": True},
        "re_entry": {"policy": "after_exit", "cooldown": "7d"},
        "steps": ONE_STEP,
    }
    write_journey(ctx.workspace.root, "again", body)
    publish(ctx, "again", now=clock())
    lid = lead(ctx, "re@t.example", clock(), activity="form_fill")
    drain(ctx, clock)
    clock.advance(days=1)
    lead(ctx, "re@t.example", clock(), activity="form_fill")  # within the cooldown: no
    drain(ctx, clock)
    assert _entered(ctx, "again") == [lid]
    clock.advance(days=7)
    lead(ctx, "re@t.example", clock(), activity="form_fill")
    drain(ctx, clock)
    assert _entered(ctx, "again") == [lid, lid]
    assert enrolment(ctx, "again", lid)["entered_at"] == clock()


def test_an_anonymous_track_event_enters_when_identified_soon_after(ctx) -> None:
    """Identified within the late-link hour: entered (once); identified later: not."""
    clock = Clock()
    write_journey(
        ctx.workspace.root, "pricing", {"entry": {"track": "Pricing Viewed"}, "steps": ONE_STEP}
    )
    publish(ctx, "pricing", now=clock())
    soon = lead(ctx, "soon@t.example", clock())
    late = lead(ctx, "late@t.example", clock())

    def event(message_id: str, **fields) -> dict:
        return {"messageId": message_id, "timestamp": clock().isoformat(), **fields}

    clock.advance(minutes=1)
    ingest(
        ctx,
        [
            event("p1", type="track", anonymousId="anon-soon", event="Pricing Viewed"),
            event("p2", type="track", anonymousId="anon-late", event="Pricing Viewed"),
        ],
        source="test",
        now=clock(),
    )
    drain(ctx, clock)
    assert _entered(ctx, "pricing") == []  # nobody known yet
    clock.advance(minutes=20)
    identify = event(
        "i1", type="identify", anonymousId="anon-soon", traits={"email": "soon@t.example"}
    )
    ingest(ctx, [identify], source="test", now=clock())
    drain(ctx, clock)
    drain(ctx, clock)  # the held rows are read again: still one entry
    assert _entered(ctx, "pricing") == [soon]
    clock.advance(hours=2)
    identify = event(
        "i2", type="identify", anonymousId="anon-late", traits={"email": "late@t.example"}
    )
    ingest(ctx, [identify], source="test", now=clock())
    drain(ctx, clock)
    assert _entered(ctx, "pricing") == [soon] and late not in _entered(ctx, "pricing")
