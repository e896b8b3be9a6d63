"""Journey actions, run inside the step's transaction.

Everything that leaves the database goes through the outbox (emails, owner notifications,
webhooks) with the step's key, so the effect commits with the step record or not at all.
Each action returns (outcome, result, retry_at): outcome `deferred` means "run this step again
at retry_at" (quiet hours, frequency cap, a lead row another transaction holds).
`run_steps` runs many people's steps of one kind: emails, owner notifications and webhooks in
one batched call (a few queries and one executemany per table), the others one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, update

from marketops.errors import MarketopsError
from marketops.journeys.models import Journey, Step
from marketops.notify.outbox import Message, enqueue_many
from marketops.store.schema import lead_events, leads

# columns a journey may set; everything else goes to the lead's attributes
EDITABLE = frozenset(
    {"first_name", "last_name", "title", "company", "country", "region", "industry", "employees"}
)
BUSY_RETRY = timedelta(seconds=5)


@dataclass(slots=True)  # not frozen: a frozen init costs ~3 µs a step
class Run:
    """What one step needs: where it is and whom for."""

    conn: Connection
    ctx: Any
    journey: Journey
    step: Step
    enrolment_id: int
    version: int
    attempt: int
    defers: int
    lead: dict[str, Any]  # the lead row (columns + attributes dict)
    now: datetime

    @property
    def key(self) -> str:
        """The step's idempotency key: one per person, step and visit. A deferred send asks
        again under the same key (send_email decides again while its answer was `deferred`)."""
        return f"journey:{self.enrolment_id}:{self.step.id}:{self.attempt}"

    @property
    def actor(self) -> str:
        return f"journey:{self.journey.name}"


Result = tuple[str, dict[str, Any], datetime | None]


def send_emails(runs: Sequence[Run]) -> list[Result]:
    """Each run's email through one `send_emails` call (the policy facts read once)."""
    from marketops.messaging.send import SendRequest
    from marketops.messaging.send import send_emails as send

    requests = []
    shared: dict[tuple[int, int], tuple[str, tuple[str, ...], Any]] = {}  # per journey and step
    for r in runs:
        got = shared.get((id(r.journey), id(r.step)))
        if got is None:
            spec = r.step.send_email
            assert spec is not None
            got = (spec.template, tuple(r.journey.suppression_segments), spec.params or None)
            shared[id(r.journey), id(r.step)] = got
        template, segments, params = got
        key = f"journey:{r.enrolment_id}:{r.step.id}:{r.attempt}"  # `Run.key`, inlined
        requests.append(SendRequest(r.lead["id"], template, key, segments, params))
    first = runs[0]
    known = {r.lead["id"]: r.lead for r in runs}
    # the runner read (and on PostgreSQL locked) the leads in this transaction
    outs = send(first.conn, first.ctx, requests, first.now, known=known, locked=True)
    return [_sent(r, q.template, out) for r, q, out in zip(runs, requests, outs, strict=True)]


def _sent(r: Run, template: str, out: Any) -> Result:
    result = {"template": template, "status": out.status, "reason": out.reason}
    if out.delivery_id is not None:
        result["delivery_id"] = out.delivery_id
    if out.status == "deferred":
        return "deferred", result, out.retry_at or r.now + BUSY_RETRY
    return ("sent" if out.status == "queued" else "skipped"), result, None


def _owner_message(r: Run) -> Message | Result:
    spec = r.step.notify_owner
    assert spec is not None
    owner = r.lead.get("owner")
    if not owner:
        return "skipped", {"reason": "the lead has no owner"}, None
    return Message(
        channel=spec.channel,
        destination=f"owner:{owner}",
        payload={
            "event": "journey.notify_owner",
            "journey": r.journey.name,
            "step": r.step.id,
            "lead_id": r.lead["id"],
            "owner": owner,
            "text": spec.message,
        },
        idempotency_key=r.key,
        subject=f"[journey {r.journey.name}] lead {r.lead['id']}",
    )


def _webhook_message(r: Run) -> Message | Result:
    spec = r.step.webhook
    assert spec is not None
    return Message(
        channel="webhook",
        destination=spec.url,
        payload={
            "event": "journey.webhook",
            "journey": r.journey.name,
            "step": r.step.id,
            "lead_id": r.lead["id"],
            **spec.payload,
        },
        idempotency_key=r.key,
    )


def _outbox_steps(runs: Sequence[Run], build: Callable[[Run], Message | Result]) -> list[Result]:
    """Steps whose effect is one outbox row each: the rows go in with one `enqueue_many`."""
    built = [build(r) for r in runs]
    messages = [m for m in built if isinstance(m, Message)]
    ids = iter(enqueue_many(runs[0].conn, messages, now=runs[0].now))
    out: list[Result] = []
    for r, m in zip(runs, built, strict=True):
        if not isinstance(m, Message):
            out.append(m)
        elif m.channel == "webhook":
            out.append(("done", {"outbox_id": next(ids)}, None))
        else:
            out.append(("done", {"outbox_id": next(ids), "owner": r.lead.get("owner")}, None))
    return out


def update_field(r: Run) -> Result:
    spec = r.step.update_field
    assert spec is not None
    f, value = spec.field, spec.value
    if f in EDITABLE:
        old = r.lead.get(f)
        conn_values: dict[str, Any] = {f: value}
        r.lead[f] = value
    else:
        attrs = dict(r.lead.get("attributes") or {})
        old = attrs.get(f)
        attrs[f] = value
        conn_values = {"attributes": attrs}
        r.lead["attributes"] = attrs
    if old == value:
        return "skipped", {"reason": "already set", "field": f}, None
    r.conn.execute(
        update(leads).where(leads.c.id == r.lead["id"]).values(**conn_values, updated_at=r.now)
    )
    r.conn.execute(
        insert(lead_events).values(
            lead_id=r.lead["id"],
            at=r.now,
            kind="updated",
            actor=r.actor,
            data={"changes": {f: [old, value]}, "journey": r.journey.name, "step": r.step.id},
        )
    )
    return "done", {"field": f}, None


def change_stage(r: Run) -> Result:
    from marketops.lifecycle.service import apply_move, lock_lead

    spec = r.step.change_stage
    assert spec is not None
    lead = lock_lead(r.conn, r.lead["id"], skip_locked=True)
    if lead is None:  # a live request holds the row: try again shortly, never wait on it
        return "deferred", {"reason": "lead busy"}, r.now + BUSY_RETRY
    if lead.lifecycle_stage == spec.to:
        return "skipped", {"reason": f"already {spec.to}"}, None
    reason = spec.reason or f"journey {r.journey.name}, step {r.step.id}"
    try:
        moved = apply_move(
            r.conn,
            r.ctx.config,
            lead,
            spec.to,
            actor=r.actor,
            actor_kind="rule",
            reason=reason,
            now=r.now,
        )
    except MarketopsError as exc:  # a move lifecycle.yml forbids: skipped, with why
        return "skipped", {"reason": str(exc).splitlines()[0]}, None
    r.lead["lifecycle_stage"] = spec.to
    return "done", {"from": moved["from"], "to": moved["to"]}, None


def _list(r: Run, add: bool) -> Result:
    from marketops.segments import service

    spec = r.step.add_to_list if add else r.step.remove_from_list
    assert spec is not None
    fn = service.add_to_list if add else service.remove_from_list
    n = fn(r.conn, spec.list, [r.lead["id"]], r.now, source=r.actor)
    return ("done" if n else "skipped"), {"list": spec.list, "changed": n}, None


BATCHED: dict[str, Callable[[Sequence[Run]], list[Result]]] = {
    "send_email": send_emails,
    "notify_owner": lambda runs: _outbox_steps(runs, _owner_message),
    "webhook": lambda runs: _outbox_steps(runs, _webhook_message),
}
ONE_BY_ONE: dict[str, Callable[[Run], Result]] = {
    "update_field": update_field,
    "change_stage": change_stage,
    "add_to_list": lambda r: _list(r, True),
    "remove_from_list": lambda r: _list(r, False),
}


def run_steps(kind: str, runs: Sequence[Run]) -> list[Result]:
    """Many people's steps of one kind: batched where the action has a batch form, else one by
    one in the order given."""
    batched = BATCHED.get(kind)
    return batched(runs) if batched is not None else [ONE_BY_ONE[kind](r) for r in runs]
