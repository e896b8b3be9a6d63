"""Replay stored history through a journey file before it goes live, with no side effects.

Entries come from the same trigger sources the worker reads (segment entries are recomputed at
each past instant with the pure segment evaluator over the activities up to then). Each entrant
then walks the steps on a virtual clock: waits end at their computed time, an event wait ends
at the first matching activity/event in history, goals and branches look at the lead's stage and
segment/list memberships at that instant (stage history, the membership log), and a stage move
or a segment entry during a wait reaches a goal then, as the worker's wake-up does. Each email
takes the real send's decision (`policy.hold_back`) at its instant: the journey's suppression
segments as their members were then; consent and unsubscribes as they were then (today's consent
with every later change undone: the lead's `consent` events and the consent changes its updates
recorded); do-not-contact as it is today; and for marketing email the frequency cap (the
stored sends plus this replay's own) and quiet hours in the contact's zone; a deferral moves that
person's clock on to when it would have gone. An email that may go is rendered (a render error
counts as failed) but not sent. Other fields are today's values: history keeps stage moves,
membership changes and sends, not every edit.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select

from marketops.journeys import engine
from marketops.journeys.loader import load_journey
from marketops.journeys.models import Journey
from marketops.store.schema import activities, lead_events, leads
from marketops.store.tables_events import event_identities, events
from marketops.store.tables_journeys import journey_events
from marketops.store.tables_messaging import email_sends, email_unsubscribes

MAX_STEPS = 200
MAX_DEFERRALS = 50  # one send deferred again and again (a cap that never frees up) gives up


class History:
    """Everything the replay reads, per lead, loaded once."""

    def __init__(self, ctx: Any, journey: str, until: datetime) -> None:
        self.engine = ctx.engine
        from marketops.messaging.policy import DoNotContact

        # do-not-contact: the CSV and the store, today; its email entries merged once
        self.dnc = DoNotContact(ctx.suppression_index())
        with ctx.engine.connect() as conn:
            self.leads = {r.id: dict(r._mapping) for r in conn.execute(select(leads))}
            self.acts: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
            for lid, typ, at in conn.execute(
                select(activities.c.lead_id, activities.c.type, activities.c.occurred_at).where(
                    activities.c.occurred_at <= until
                )
            ):
                self.acts[lid].append((at, typ))
            self.stages: dict[str, list[tuple[datetime, str, str | None]]] = defaultdict(list)
            self.scores: dict[str, list[tuple[datetime, dict]]] = defaultdict(list)
            for lid, kind, at, data in conn.execute(
                select(
                    lead_events.c.lead_id, lead_events.c.kind, lead_events.c.at, lead_events.c.data
                )
                .where(lead_events.c.kind.in_(("stage", "score")), lead_events.c.at <= until)
                .order_by(lead_events.c.id)
            ):
                if kind == "stage":
                    self.stages[lid].append((at, (data or {}).get("to"), (data or {}).get("from")))
                else:
                    self.scores[lid].append((at, data or {}))
            self.api: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
            for lid, name, at in conn.execute(
                select(journey_events.c.lead_id, journey_events.c.name, journey_events.c.at).where(
                    journey_events.c.journey == journey, journey_events.c.at <= until
                )
            ):
                self.api[lid].append((at, name))
            links = {
                (k, v): lid
                for k, v, lid in conn.execute(
                    select(
                        event_identities.c.kind,
                        event_identities.c.value,
                        event_identities.c.lead_id,
                    )
                )
            }
            self.track: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
            for uid, aid, name, ts in conn.execute(
                select(events.c.user_id, events.c.anonymous_id, events.c.event, events.c.ts).where(
                    events.c.type == "track", events.c.ts <= until
                )
            ):
                lid = links.get(("user", uid)) or links.get(("anon", aid))
                if lid:
                    self.track[lid].append((ts, name))
            self.sent: dict[str, list[datetime]] = defaultdict(list)  # counted toward the cap
            for lid, at in conn.execute(
                select(email_sends.c.lead_id, email_sends.c.decided_at).where(
                    email_sends.c.status == "queued",
                    email_sends.c.category == "marketing",
                    email_sends.c.decided_at <= until,
                )
            ):
                self.sent[lid].append(at)
            self.unsubscribed: dict[str, datetime] = {}  # the lead's first unsubscribe
            for lid, at in conn.execute(
                select(email_unsubscribes.c.lead_id, email_unsubscribes.c.at).order_by(
                    email_unsubscribes.c.at
                )
            ):
                self.unsubscribed.setdefault(lid, at)
            self.consent_log = _consent_log(conn)
        self.until = until
        self.changes: dict[str, list[tuple[datetime, str, str]]] | None = None  # `changes_of`
        for d in (self.acts, self.api, self.track):
            for v in d.values():
                v.sort()

    def lead_at(self, lead_id: str, at: datetime) -> dict[str, Any]:
        """The lead with its consent as it was at `at`: today's, each later change undone."""
        lead = self.leads[lead_id]
        later = [c for c in self.consent_log.get(lead_id, ()) if c[0] > at]
        if not later:
            return lead
        consent = dict(lead["consent"] or {})
        for _, channel, before in reversed(later):
            if before is None:
                consent.pop(channel, None)
            else:
                consent[channel] = before
        return {**lead, "consent": consent}

    def member_at(self, lead_id: str, at: datetime) -> engine.Membership:
        """The lead's segment and list memberships as they were at `at`, from the membership
        log (`segment_changes`: every entry and exit with its time), for goals, branches and
        suppression segments."""

        def member(segment: str) -> bool:
            state = False
            for t, seg, change in self.changes_of(lead_id):
                if t > at:
                    break
                if seg == segment:
                    state = change == "entered"
            return state

        return member

    def changes_of(self, lead_id: str) -> list[tuple[datetime, str, str]]:
        """The lead's membership changes in time order; the log is read once, in one query,
        the first time any lead's is asked for (not a query per person)."""
        if self.changes is None:
            from marketops.store.tables_segments import segment_changes as sc

            self.changes = defaultdict(list)
            with self.engine.connect() as conn:
                for lid, at, seg, change in conn.execute(
                    select(sc.c.lead_id, sc.c.at, sc.c.segment, sc.c.change)
                    .where(sc.c.at <= self.until)
                    .order_by(sc.c.at, sc.c.id)
                ):
                    self.changes[lid].append((at, seg, change))
        return self.changes.get(lead_id, [])

    def list_entries(self, name: str) -> list[tuple[datetime, str]]:
        from marketops.store.tables_segments import segment_changes as sc

        with self.engine.connect() as conn:
            return [
                (at, lid)
                for lid, at in conn.execute(
                    select(sc.c.lead_id, sc.c.at).where(
                        sc.c.segment == name, sc.c.change == "entered"
                    )
                )
            ]

    def stage_at(self, lead_id: str, at: datetime) -> str | None:
        hist = self.stages.get(lead_id) or []
        stage = None
        for t, to, _ in hist:
            if t > at:
                break
            stage = to
        return stage if stage is not None else self.leads[lead_id]["lifecycle_stage"]

    def view_at(self, lead_id: str, at: datetime) -> dict[str, Any]:
        v = engine.lead_view(self.leads[lead_id])
        v["lifecycle_stage"] = self.stage_at(lead_id, at)
        return v

    def first_event(
        self, lead_id: str, name: str, start: datetime, end: datetime
    ) -> datetime | None:
        hits = [
            t
            for src in (self.acts, self.api, self.track)
            for t, n in src.get(lead_id, ())
            if n == name and start <= t <= end
        ]
        return min(hits) if hits else None


def _entries(
    h: History, journey: Journey, ws: Any, since: datetime, until: datetime
) -> list[tuple[datetime, str]]:
    """(when, lead) for every trigger in [since, until], in time order."""
    trig = journey.entry
    out: list[tuple[datetime, str]] = []
    if trig.form_fill or trig.activity:
        typ = "form_fill" if trig.form_fill else trig.activity
        out = [
            (t, lid)
            for lid, xs in h.acts.items()
            for t, n in xs
            if n == typ and since <= t <= until
        ]
    elif trig.stage is not None:
        out = [
            (t, lid)
            for lid, xs in h.stages.items()
            for t, to, frm in xs
            if to == trig.stage.to
            and (trig.stage.from_ is None or frm == trig.stage.from_)
            and since <= t <= until
        ]
    elif trig.score is not None:
        key = {"total_score": "to", "fit_score": "fit", "engagement_score": "engagement"}[
            trig.score.field
        ]
        for lid, xs in h.scores.items():
            for t, d in xs:
                new, old = d.get(key), d.get("from") if key == "to" else None
                if (
                    since <= t <= until
                    and new is not None
                    and new >= trig.score.gte
                    and (old is None or old < trig.score.gte)
                ):
                    out.append((t, lid))
    elif trig.event is not None:
        out = [
            (t, lid)
            for lid, xs in h.api.items()
            for t, n in xs
            if n == trig.event and since <= t <= until
        ]
    elif trig.track is not None:
        out = [
            (t, lid)
            for lid, xs in h.track.items()
            for t, n in xs
            if n == trig.track and since <= t <= until
        ]
    else:
        out = _segment_entries(h, trig.segment or "", ws, since, until)
    return sorted(out)


def _segment_entries(
    h: History, name: str, ws: Any, since: datetime, until: datetime
) -> list[tuple[datetime, str]]:
    """Membership re-evaluated at `since` and at each later activity or stage move per lead;
    an entry is a change from out to in."""
    from marketops.errors import MarketopsError, Problem
    from marketops.segments.config import SEGMENTS_FILE, ListDef
    from marketops.segments.rules import evaluate

    definition = ws.extra(SEGMENTS_FILE).find(name)
    if definition is None:
        raise MarketopsError(
            f"no segment {name!r}",
            [Problem(f"{SEGMENTS_FILE}", name, "entry.segment must name a segment")],
        )
    if isinstance(definition, ListDef):  # a static list has no rule: its stored additions
        return [(t, lid) for t, lid in h.list_entries(name) if since <= t <= until]
    out = []
    for lid in h.leads:
        acts = h.acts.get(lid, [])
        times = sorted(
            {since}
            | {t for t, _ in acts if since < t <= until}
            | {t for t, _, _ in h.stages.get(lid, []) if since < t <= until}
        )
        was = None
        rows = [{"type": n, "occurred_at": t} for t, n in acts]
        stamps = [t for t, _ in acts]
        for t in times:
            upto = rows[: bisect.bisect_right(stamps, t)]
            now_in = evaluate(definition, h.view_at(lid, t), upto, t)
            if was is False and now_in:
                out.append((t, lid))
            was = now_in
    return out


def _walk(
    h: History, journey: Journey, lid: str, entered: datetime, until: datetime, ws: Any, tally: dict
) -> tuple[str, datetime]:
    """One person through the journey on a virtual clock: (how they ended, when)."""
    t = entered
    step_id: str | None = journey.steps[0].id
    segment_goals = any(g.in_segment for g in journey.goals)
    for _ in range(MAX_STEPS):
        view = h.view_at(lid, t)
        goal = engine.goal_reached(journey.goals, view, h.member_at(lid, t))
        if goal:
            tally["goals"][goal] += 1
            return "goal", t
        step = journey.step(step_id or "")
        assert step is not None
        tally["steps"][step.id] += 1
        target = None
        outcome = "done"
        if step.wait is not None:
            end = engine.wait_end(step.wait, t, view, journey.time_zone)
            # a goal reached during the wait (a stage move, a segment entry) ends it early, as
            # the worker's wake-up scan does
            horizon = min(end, until)
            moves = {s for s, _, _ in h.stages.get(lid, []) if t < s <= horizon}
            if segment_goals:
                moves |= {c for c, _, _ in h.changes_of(lid) if t < c <= horizon}
            for s in sorted(moves):
                g = engine.goal_reached(journey.goals, h.view_at(lid, s), h.member_at(lid, s))
                if g:
                    tally["goals"][g] += 1
                    return "goal", s
            if step.wait.event is not None:
                seen = h.first_event(lid, step.wait.event, t, min(end, until))
                if seen is not None:
                    t, outcome = seen, "event"
                elif end > until:
                    return "inside", until
                else:
                    t, outcome = end, "timeout"
            elif end > until:
                return "inside", until
            else:
                t = end
        elif step.branch is not None:
            _, target = engine.choose_arm(step, view, h.member_at(lid, t))
        elif step.send_email is not None:
            t = _send(h, journey, step, lid, t, ws, tally)
            if t > until:
                return "inside", until
        elif step.change_stage is not None:
            h.stages[lid].append((t, step.change_stage.to, view.get("lifecycle_stage")))
        if step.exit is not None:
            return "exited", t
        step_id = engine.successor(journey, step, outcome, target)
        if step_id is None:
            return "completed", t
    return "inside", t


def _send(
    h: History, journey: Journey, step: Any, lid: str, t: datetime, ws: Any, tally: dict
) -> datetime:
    """The send step at `t` as the real send decides it; returns when the step is done (later
    than `t` after deferrals: quiet hours, the cap)."""
    from marketops.messaging.policy import contact_zone, hold_back, quiet_until
    from marketops.messaging.render import compiled, messaging_config, render

    name = step.send_email.template
    counts = tally["emails"][name]
    lead = h.leads[lid]
    try:
        category = compiled(ws.root, name).model.category
    except Exception as exc:  # a template problem: the real send fails the step too
        counts["failed"] += 1
        tally["problems"].add(f"{name}: {str(exc).splitlines()[0]}")
        return t
    cfg = messaging_config(ws.root)
    zone, _ = contact_zone(lead, cfg.quiet_hours)
    on_dnc = h.dnc(lead["email"])
    unsubscribed = h.unsubscribed.get(lid)
    for _ in range(MAX_DEFERRALS):
        held = hold_back(
            cfg,
            h.lead_at(lid, t),
            category,
            t,
            unsubscribed=unsubscribed is not None and unsubscribed <= t,
            on_dnc=on_dnc,
            suppressed_by=next(filter(h.member_at(lid, t), journey.suppression_segments), None),
            recent=h.sent.get(lid, ()),
            zone=zone,
            quiet_end=quiet_until(t, zone, cfg.quiet_hours),
        )
        if held is None:
            break
        counts["reasons"][held.reason] += 1
        if held.status == "skipped" or held.retry_at is None:
            counts["skipped"] += 1
            return t
        counts["deferred"] += 1
        t = max(held.retry_at, t)
    else:
        counts["skipped"] += 1
        return t
    try:
        render(name, lead, step.send_email.params, ws)
    except Exception as exc:  # rendered at delivery: the real email would dead-letter
        counts["failed"] += 1
        tally["problems"].add(f"{name}: {str(exc).splitlines()[0]}")
        return t
    counts["sent"] += 1
    if category == "marketing":
        h.sent[lid].append(t)
    return t


def _consent_log(conn: Any) -> dict[str, list[tuple[datetime, str, Any]]]:
    """Per lead, its consent changes in time order: (when, channel, the value before).

    From `consent` events (an unsubscribe: those written before the value before was recorded
    came from a person who had consent, or did not need it: True) and the `consent_<channel>`
    changes of `updated` events (a record that changed a channel's consent)."""
    out: dict[str, list[tuple[datetime, str, Any]]] = defaultdict(list)
    q = (
        select(lead_events.c.lead_id, lead_events.c.kind, lead_events.c.at, lead_events.c.data)
        .where(lead_events.c.kind.in_(("consent", "updated")))
        .order_by(lead_events.c.id)
    )
    for lid, kind, at, data in conn.execute(q):
        data = data or {}
        if kind == "consent":
            if data.get("channel"):
                out[lid].append((at, data["channel"], data.get("from", True)))
            continue
        changes = data.get("changes") or {}
        for channel in ("email", "phone"):
            change = changes.get(f"consent_{channel}")
            if isinstance(change, dict):
                out[lid].append((at, channel, change.get("from")))
    for log in out.values():
        log.sort(key=lambda c: c[0])
    return out


def simulate(ctx: Any, name: str, *, since: datetime, until: datetime) -> dict[str, Any]:
    """What the journey file would have done over [since, until]; nothing is written."""
    journey, _ = load_journey(ctx.workspace.root, name)
    h = History(ctx, name, until)
    tally: dict[str, Any] = {
        "goals": Counter(),
        "steps": Counter(),
        "emails": defaultdict(
            lambda: {"sent": 0, "skipped": 0, "deferred": 0, "failed": 0, "reasons": Counter()}
        ),
        "problems": set(),
    }
    ends: Counter[str] = Counter()
    busy_until: dict[str, datetime] = {}
    last_exit: dict[str, datetime] = {}
    entered = 0
    for at, lid in _entries(h, journey, ctx.workspace, since, until):
        if lid not in h.leads or busy_until.get(lid, at) > at:
            continue  # one enrolment at a time
        if lid in last_exit and (
            journey.re_entry.policy == "never" or at < last_exit[lid] + journey.re_entry.cooldown
        ):
            continue
        entered += 1
        how, when = _walk(h, journey, lid, at, until, ctx.workspace, tally)
        ends[how] += 1
        if how == "inside":
            busy_until[lid] = datetime.max.replace(tzinfo=at.tzinfo)
        else:
            busy_until[lid] = last_exit[lid] = when
    return {
        "journey": name,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "entered": entered,
        "completed": ends["completed"],
        "exited": ends["exited"],
        "inside": ends["inside"],
        "goals": dict(tally["goals"]),
        "emails": {k: {**v, "reasons": dict(v["reasons"])} for k, v in tally["emails"].items()},
        "steps": dict(tally["steps"]),
        "problems": sorted(tally["problems"]),
    }
