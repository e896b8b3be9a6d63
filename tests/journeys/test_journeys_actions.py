"""The actions that write inside the step's transaction: owner notifications (outbox), stage
moves through the lifecycle service (refused moves are recorded as skipped with why), static
list membership through the segments service."""

from __future__ import annotations

from journeys_helpers import Clock, enrolment, lead, outbox_rows, runs, write_journey
from sqlalchemy import select

from marketops.journeys import service
from marketops.journeys.runner import drain
from marketops.journeys.versions import publish
from marketops.lifecycle.service import history
from marketops.segments.service import is_member
from marketops.store.schema import leads
from marketops.store.tables_segments import segment_changes

ACTIONS = {
    "entry": {"event": "go"},
    "steps": [
        {"id": "tell", "notify_owner": {"message": "look at this lead"}},
        {"id": "list-in", "add_to_list": {"list": "webinar-2026-attendees"}},
        {"id": "to-mql", "change_stage": {"to": "MQL", "reason": "journey says so"}},
        {"id": "to-customer", "change_stage": {"to": "Customer"}},
        {"id": "list-out", "remove_from_list": {"list": "webinar-2026-attendees"}},
    ],
}


def test_owner_stage_and_list_actions(ctx) -> None:
    clock = Clock()
    write_journey(ctx.workspace.root, "acts", ACTIONS)
    publish(ctx, "acts", now=clock())
    owned = lead(ctx, "owned@a.example", clock(), title="CEO", activity="demo_request")
    plain = lead(ctx, "plain@a.example", clock())
    for lid in (owned, plain):
        service.post_event(ctx, "acts", lead_id=lid, event="go", now=clock(), key=lid)
    drain(ctx, clock)
    by = {}
    for r in runs(ctx, "acts"):
        by.setdefault(r["enrolment_id"], {})[r["step"]] = (r["outcome"], r["result"])
    o = by[enrolment(ctx, "acts", owned)["id"]]
    p = by[enrolment(ctx, "acts", plain)["id"]]
    notes = [x for x in outbox_rows(ctx) if x["payload"].get("event") == "journey.notify_owner"]
    with ctx.engine.connect() as conn:
        owner = conn.execute(select(leads.c.owner).where(leads.c.id == owned)).scalar_one()
    assert owner  # routed by the example routing.yml
    assert [(n["destination"], n["payload"]["lead_id"]) for n in notes] == [
        (f"owner:{owner}", owned)
    ]
    assert p["tell"] == ("skipped", {"reason": "the lead has no owner"})
    # `owned` was already an MQL (scored past the threshold): skipped; `plain` moved
    assert o["to-mql"][0] == "skipped" and p["to-mql"][0] == "done"
    moves = history(ctx, plain, clock())["transitions"]
    assert (moves[-1]["to"], moves[-1]["actor"], moves[-1]["reason"]) == (
        "MQL",
        "journey:acts",
        "journey says so",
    )
    # MQL -> Customer is not an allowed move: skipped, with lifecycle's reason
    assert p["to-customer"][0] == "skipped" and "Customer" in p["to-customer"][1]["reason"]
    assert p["list-in"][0] == p["list-out"][0] == "done"
    with ctx.engine.connect() as conn:
        assert not is_member(conn, "webinar-2026-attendees", plain)
        changes = conn.execute(
            select(segment_changes.c.change).where(segment_changes.c.lead_id == plain)
        ).scalars()
        assert list(changes) == ["entered", "exited"]
