"""`journey simulate` takes each email through the real send decision (consent, frequency cap,
quiet hours in the contact's zone): its counts equal what the worker then does over the same
history, deferrals included."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from journeys_helpers import Clock, lead, write_journey
from sqlalchemy import select

from marketops.journeys.runner import drain
from marketops.journeys.simulate import simulate
from marketops.journeys.versions import publish
from marketops.store.tables_messaging import email_sends

FOUR_SENDS = {
    "entry": {"form_fill": True},
    "steps": [
        {"id": f"e{i}", "send_email": {"template": t}}
        for i, t in enumerate(["nurture_1", "nurture_2", "nurture_3", "welcome"], 1)
    ],
}


def test_simulate_decides_each_email_as_the_worker_does(ctx, monkeypatch) -> None:
    monkeypatch.setenv("MARKETOPS_SECRET_KEY", "journey-test-key-0123456789abcdef")
    clock = Clock()  # Monday 15:00 UTC: 09:00 in Chicago (US), midnight in Tokyo
    write_journey(ctx.workspace.root, "four", FOUR_SENDS)
    publish(ctx, "four", now=clock())
    start = clock()
    us = lead(
        ctx, "us@sim.example", clock(), country="US", consent_email=True, activity="form_fill"
    )
    lead(ctx, "none@sim.example", clock(), country="US", activity="form_fill")  # no consent
    jp = lead(
        ctx, "jp@sim.example", clock(), country="JP", consent_email=True, activity="form_fill"
    )
    until = start + timedelta(days=9)
    sim = simulate(ctx, "four", since=start - timedelta(minutes=1), until=until)

    # the worker over the same days: now, when Tokyo's quiet hours end, when the cap frees up
    for at in (start, start + timedelta(hours=8, minutes=1), start + timedelta(days=7, hours=9)):
        clock.now = at
        drain(ctx, clock)
    with ctx.engine.connect() as conn:
        rows = [r._mapping for r in conn.execute(select(email_sends))]
    real: dict[str, Counter] = {}
    for r in rows:
        c = real.setdefault(r["template"], Counter())
        c["sent" if r["status"] == "queued" else r["status"]] += 1
        c["deferred"] += r["attempts"] - 1  # each decision before the last was a deferral
    simulated = {
        t: Counter({k: v[k] for k in ("sent", "skipped", "deferred") if v[k]})
        for t, v in sim["emails"].items()
    }
    assert simulated == {t: +c for t, c in real.items()}
    # what that means: the consentless lead is skipped four times; Tokyo waits for 08:00 local;
    # both consenting leads hit the cap of 3 a week at their fourth email, which waits a week
    assert sim["emails"]["nurture_1"]["reasons"] == {"no_consent": 1, "quiet_hours": 1}
    assert sim["emails"]["welcome"]["reasons"] == {"no_consent": 1, "frequency_cap": 2}
    assert (sim["entered"], sim["completed"]) == (3, 3)
    sent_at = {
        r["lead_id"]: r["decided_at"]
        for r in rows
        if r["template"] == "welcome" and r["status"] == "queued"
    }
    assert set(sent_at) == {us, jp}


MEMBERSHIP = {
    "entry": {"form_fill": True},
    "goals": [{"name": "shortlisted", "in_segment": "upsell-candidates"}],
    "steps": [
        {
            "id": "check",
            "branch": [
                {"when": {"in_segment": "webinar-2026-attendees"}, "goto": "attendee"},
                {"goto": "other"},
            ],
        },
        {"id": "attendee", "update_field": {"field": "route", "value": "a"}, "next": "w"},
        {"id": "other", "update_field": {"field": "route", "value": "o"}, "next": "w"},
        {"id": "w", "wait": {"delay": "3d"}},
        {"id": "end", "update_field": {"field": "done", "value": 1}},
    ],
}


def test_simulate_reads_memberships_as_they_were(ctx) -> None:
    """Branches and goals on membership see the membership log at each instant: a list joined
    before entry steers the branch, a list joined during the wait ends it by the goal; the worker
    over the same history does the same."""
    from marketops.segments.service import add_to_list

    write_journey(ctx.workspace.root, "members", MEMBERSHIP)
    clock = Clock()
    publish(ctx, "members", now=clock())
    start = clock()
    a = lead(ctx, "a@members.example", clock(), activity="webinar")
    b = lead(ctx, "b@members.example", clock(), activity="webinar")
    with ctx.engine.begin() as conn:
        add_to_list(conn, "webinar-2026-attendees", [a], clock(), source="test")
    clock.advance(minutes=1)
    for email in ("a@members.example", "b@members.example"):
        lead(ctx, email, clock(), activity="form_fill")
    drain(ctx, clock)  # both enter; a goes the attendee way
    clock.advance(days=1)
    with ctx.engine.begin() as conn:
        add_to_list(conn, "upsell-candidates", [b], clock(), source="test")
    drain(ctx, clock)  # b leaves by the goal, mid-wait
    clock.advance(days=3)
    drain(ctx, clock)  # a completes

    sim = simulate(ctx, "members", since=start - timedelta(minutes=1), until=clock())
    assert (sim["entered"], sim["completed"], sim["goals"]) == (2, 1, {"shortlisted": 1})
    assert (sim["steps"]["attendee"], sim["steps"]["other"], sim["steps"]["end"]) == (1, 1, 1)
    with ctx.engine.connect() as conn:
        from marketops.store.tables_journeys import journey_enrolments as je
        from marketops.store.tables_journeys import journey_step_runs as jr

        real = Counter(conn.execute(select(jr.c.step)).scalars())
        ended = dict(conn.execute(select(je.c.lead_id, je.c.goal)).all())
    assert (real["attendee"], real["other"], real["end"]) == (1, 1, 1)
    assert ended == {a: None, b: "shortlisted"}


TWO_SENDS = {  # an email, two days, another email
    "entry": {"form_fill": True},
    "steps": [
        {"id": "e1", "send_email": {"template": "nurture_1"}},
        {"id": "w", "wait": {"delay": "2d"}},
        {"id": "e2", "send_email": {"template": "nurture_2"}},
    ],
}


def test_simulate_suppresses_only_from_when_someone_joined(ctx, monkeypatch) -> None:
    """A suppression list joined between two sends holds back only the second, in the replay
    as in the worker."""
    from marketops.segments.service import add_to_list

    monkeypatch.setenv("MARKETOPS_SECRET_KEY", "journey-test-key-0123456789abcdef")
    body = {**TWO_SENDS, "suppression_segments": ["do-not-email"]}
    write_journey(ctx.workspace.root, "quiet", body)
    clock = Clock()
    publish(ctx, "quiet", now=clock())
    start = clock()
    who = lead(
        ctx, "q@sim.example", clock(), country="US", consent_email=True, activity="form_fill"
    )
    drain(ctx, clock)
    clock.advance(days=1)
    with ctx.engine.begin() as conn:
        add_to_list(conn, "do-not-email", [who], clock(), source="test")
    clock.advance(days=1, minutes=1)
    drain(ctx, clock)

    sim = simulate(ctx, "quiet", since=start - timedelta(minutes=1), until=clock())
    with ctx.engine.connect() as conn:
        real = dict(conn.execute(select(email_sends.c.template, email_sends.c.status)).all())
    assert real == {"nurture_1": "queued", "nurture_2": "skipped"}
    assert sim["emails"]["nurture_1"]["sent"] == 1
    assert sim["emails"]["nurture_2"]["skipped"] == 1
    assert sim["emails"]["nurture_2"]["reasons"] == {"suppression_segment:do-not-email": 1}


def test_simulate_reads_consent_as_it_was(ctx, monkeypatch) -> None:
    """Consent granted by a later record, and an unsubscribe between two sends, count from their
    moment in the replay as in the worker (today's consent would send the first lead's first
    email and hold back the second lead's)."""
    from marketops.messaging.unsubscribe import TokenClaims, apply_unsubscribe

    monkeypatch.setenv("MARKETOPS_SECRET_KEY", "journey-test-key-0123456789abcdef")
    write_journey(ctx.workspace.root, "consent", TWO_SENDS)
    clock = Clock()
    publish(ctx, "consent", now=clock())
    start = clock()
    late = lead(ctx, "late@sim.example", clock(), country="US", activity="form_fill")
    gone = lead(
        ctx, "gone@sim.example", clock(), country="US", consent_email=True, activity="form_fill"
    )
    drain(ctx, clock)
    clock.advance(days=1)
    lead(ctx, "late@sim.example", clock(), consent_email=True, activity="webinar")
    with ctx.engine.begin() as conn:
        apply_unsubscribe(conn, TokenClaims(gone, "marketing"), method="link", now=clock())
    clock.advance(days=1, minutes=1)
    drain(ctx, clock)

    sim = simulate(ctx, "consent", since=start - timedelta(minutes=1), until=clock())
    with ctx.engine.connect() as conn:
        real = {
            (r.lead_id, r.template): (r.status, r.reason) for r in conn.execute(select(email_sends))
        }
    assert real == {
        (late, "nurture_1"): ("skipped", "no_consent"),
        (late, "nurture_2"): ("queued", None),
        (gone, "nurture_1"): ("queued", None),
        (gone, "nurture_2"): ("skipped", "unsubscribed"),
    }
    emails = sim["emails"]
    assert (emails["nurture_1"]["sent"], emails["nurture_1"]["skipped"]) == (1, 1)
    assert emails["nurture_1"]["reasons"] == {"no_consent": 1}
    assert (emails["nurture_2"]["sent"], emails["nurture_2"]["skipped"]) == (1, 1)
    assert emails["nurture_2"]["reasons"] == {"unsubscribed": 1}
