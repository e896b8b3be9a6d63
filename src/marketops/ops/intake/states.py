"""The request life cycle: states, allowed moves, and the SLA events a move produces.

new → triaged → in_progress → qa → scheduled → live → done, with two pause states
(waiting_on_requester, awaiting_approval) that any working state can enter and `resume` leaves
back to the state it paused from. `cancelled` closes a request from any open state; `done` may be
reopened to in_progress. Non-launch requests may go from qa straight to done.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

NEW, TRIAGED, IN_PROGRESS, QA, SCHEDULED, LIVE, DONE = (
    "new",
    "triaged",
    "in_progress",
    "qa",
    "scheduled",
    "live",
    "done",
)
WAITING_ON_REQUESTER, AWAITING_APPROVAL = "waiting_on_requester", "awaiting_approval"
CANCELLED = "cancelled"

WORK_STATES = (NEW, TRIAGED, IN_PROGRESS, QA, SCHEDULED, LIVE)
PAUSE_STATES = (WAITING_ON_REQUESTER, AWAITING_APPROVAL)
CLOSED_STATES = (DONE, CANCELLED)
STATES = (*WORK_STATES, DONE, *PAUSE_STATES, CANCELLED)

# SLA event names besides the state names: a request's first event, leaving a pause, reopening.
CREATED, RESUMED, REOPENED = "created", "resumed", "reopened"
SLA_EVENTS = (CREATED, RESUMED, REOPENED, *STATES)

_FORWARD: dict[str, tuple[str, ...]] = {
    NEW: (TRIAGED,),
    TRIAGED: (IN_PROGRESS,),
    IN_PROGRESS: (QA,),
    QA: (IN_PROGRESS, SCHEDULED, DONE),  # back to work when QA fails; done for non-launches
    SCHEDULED: (LIVE, QA),  # off the train and back to QA
    LIVE: (DONE,),
    DONE: (IN_PROGRESS,),  # reopened
}


def allowed_moves(state: str, *, is_launch: bool, paused_from: str | None = None) -> list[str]:
    """Where a request in `state` may go next (a launch must pass scheduled → live)."""
    if state in PAUSE_STATES:
        back = [paused_from] if paused_from else []
        return [*back, *(p for p in PAUSE_STATES if p != state), CANCELLED]
    if state == CANCELLED:
        return []
    out = list(_FORWARD.get(state, ()))
    if is_launch and state == QA:
        out.remove(DONE)
    if state not in CLOSED_STATES:
        out += [*PAUSE_STATES, CANCELLED]
    return out


def sla_events(
    moves: Iterable[tuple[datetime, str | None, str]],
) -> Iterator[tuple[datetime, str]]:
    """The SLA event log from the stored moves (at, from_state, to_state).

    The first move (from None) emits `created`; every move emits the state entered; leaving a pause
    state for a working state also emits `resumed`, and leaving `done` emits `reopened`, so SLA
    goals can name them in `start`/`stop`/`pause`/`resume`.
    """
    for at, before, after in moves:
        if before is None:
            yield at, CREATED
            yield at, after
            continue
        if before in PAUSE_STATES and after not in PAUSE_STATES:
            yield at, RESUMED
        if before == DONE and after != DONE:
            yield at, REOPENED
        yield at, after
