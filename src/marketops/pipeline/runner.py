"""Chains the stages. The same functions serve one API request and a million-row file.

capture → validate → normalize → enrich → dedupe (exact) → suppress → score → lifecycle → route.
Everything here is pure: the service looks up what the stages need (existing leads, enrichment
answers, suppression lists, round-robin positions, the clock) and persists what they decide.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from marketops.lifecycle.sla import plan_timers
from marketops.pipeline.dedupe import merge
from marketops.pipeline.enrich import enrich
from marketops.pipeline.lifecycle import next_stage
from marketops.pipeline.normalize import normalize
from marketops.pipeline.records import Assignment, Issue, Lead, ScoreResult, StoredLead
from marketops.pipeline.route import CompiledRouting, compile_routing
from marketops.pipeline.score import CompiledScoring, compile_scoring, score
from marketops.pipeline.suppress import SuppressionIndex, suppress
from marketops.pipeline.validate import errors_of, validate
from marketops.routing.assign import assign
from marketops.workspace.contract import Contract
from marketops.workspace.models import Lifecycle


@dataclass(frozen=True)
class CompiledConfig:
    """The workspace, compiled once per process (regexes, round-robin cycles)."""

    contract: Contract
    scoring: CompiledScoring
    routing: CompiledRouting
    lifecycle: Lifecycle

    @classmethod
    def from_workspace(cls, ws: Any) -> CompiledConfig:
        from marketops.routing.config import routing_inputs

        calendars, accounts = routing_inputs(ws)
        return cls(
            ws.contract,
            compile_scoring(ws.scoring),
            compile_routing(ws.routing, calendars, accounts),
            ws.lifecycle,
        )


@dataclass
class Prepared:
    """After validate + normalize: either a lead or the reasons it is quarantined."""

    raw: Mapping[str, Any]
    issues: list[Issue]
    lead: Lead | None

    @property
    def errors(self) -> list[Issue]:
        return errors_of(self.issues)


@dataclass
class Outcome:
    status: str  # accepted | updated | quarantined
    raw: Mapping[str, Any]
    issues: list[Issue] = field(default_factory=list)
    lead_id: str | None = None
    lead: Lead | None = None
    score: ScoreResult | None = None
    stage: str | None = None
    suppressed: bool = False
    assignment: Assignment | None = None
    queue: str | None = None
    owner: str | None = None
    created_at: datetime | None = None
    quarantine_id: int | None = None
    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    timers: list[dict[str, Any]] = field(default_factory=list)  # SLA clocks started by this


def prepare(raw: Mapping[str, Any], cfg: CompiledConfig, now: datetime) -> Prepared:
    issues = validate(raw, cfg.contract)
    if issues and errors_of(issues):
        return Prepared(raw, issues, None)
    return Prepared(raw, issues, normalize(raw, issues, now))


@dataclass(slots=True)
class Judged:
    """One lead after enrich → dedupe → suppress → score → lifecycle: everything before routing."""

    lead: Lead
    lead_id: str
    created_at: datetime
    status: str  # accepted | updated
    activities: list[tuple[str, datetime]]
    events: list[tuple[str, str, dict[str, Any]]]
    blocked: bool
    result: ScoreResult
    stage: str
    prev_stage: str | None
    queue: str | None  # before routing (the prior lead's)
    owner: str | None
    view: dict[str, Any]  # the fields routing rules see (lead, stage and scores)


def judge(
    lead: Lead,
    prior: StoredLead | None,
    cfg: CompiledConfig,
    suppression: SuppressionIndex,
    now: datetime,
    new_id: Callable[[], str],
) -> Judged:
    """The pure steps after enrich for one lead; `prior` is the stored (or earlier) person."""
    events: list[tuple[str, str, dict[str, Any]]] = []
    when = lead.occurred_at or now
    if prior is None:
        lead_id, created_at, status = new_id(), now, "accepted"
        activities = [(lead.activity, when)]
        events.append(("created", "pipeline", {"source": lead.source, "activity": lead.activity}))
        prev_stage, prev_total, queue, owner = None, None, None, None
    else:
        lead_id, created_at, status = prior.id, prior.created_at, "updated"
        lead, changes = merge(prior.lead, lead)
        activities = [*prior.activities, (lead.activity, when)]
        events.append(("updated", "pipeline", {"activity": lead.activity, "changes": changes}))
        prev_stage, prev_total = prior.lifecycle_stage, prior.total_score
        queue, owner = prior.queue, prior.owner
    if lead.warnings:
        events.append(("warnings", "contract", {"warnings": lead.warnings}))

    blocked, reasons = suppress(lead, suppression)
    if reasons:
        events.append(("suppressed", "pipeline", {"blocked": blocked, "reasons": reasons}))

    view = lead.view()
    result = score(view, activities, cfg.scoring, now)
    if prev_total is None or result.total != prev_total:
        events.append(
            (
                "score",
                "scoring",
                {
                    "from": prev_total,
                    "to": result.total,
                    "fit": result.fit,
                    "engagement": result.engagement,
                    "reasons": result.reasons,
                },
            )
        )
    stage, why = next_stage(
        prev_stage, result.total, cfg.scoring.config.mql_threshold, cfg.lifecycle
    )
    if stage != prev_stage:
        events.append(
            (
                "stage",
                "scoring" if prev_stage else "pipeline",
                {"from": prev_stage, "to": stage, "reason": why},
            )
        )
    view["lifecycle_stage"] = stage
    view["total_score"], view["fit_score"] = result.total, result.fit
    view["engagement_score"] = result.engagement
    return Judged(
        lead,
        lead_id,
        created_at,
        status,
        activities,
        events,
        blocked,
        result,
        stage,
        prev_stage,
        queue,
        owner,
        view,
    )


def conclude(
    j: Judged,
    p: Prepared,
    cfg: CompiledConfig,
    assignment: Assignment | None,
    data: dict[str, Any],
    now: datetime,
) -> Outcome:
    """The outcome of a judged lead once routing has answered (`assign`, or None if blocked)."""
    queue, owner = j.queue, j.owner
    if assignment is not None:
        queue, owner = assignment.queue, assignment.owner
        j.events.append(("routed", assignment.rule, data))
    timers = start_timers(cfg, j.lead_id, j.stage, (j.prev_stage, j.owner), queue, owner, now)
    return Outcome(
        j.status,
        p.raw,
        p.issues,
        lead_id=j.lead_id,
        lead=j.lead,
        score=j.result,
        stage=j.stage,
        suppressed=j.blocked,
        assignment=assignment,
        queue=queue,
        owner=owner,
        created_at=j.created_at,
        events=j.events,
        timers=timers,
    )


def stored(j: Judged, queue: str | None, owner: str | None) -> StoredLead:
    """The person as a later record of the same batch sees it (its prior)."""
    r = j.result
    return StoredLead(
        j.lead_id,
        j.lead,
        j.stage,
        r.fit,
        r.engagement,
        r.total,
        queue,
        owner,
        j.blocked,
        j.activities,
        j.created_at,
    )


def start_timers(
    cfg: CompiledConfig,
    lead_id: str,
    stage: str,
    before: tuple[str | None, str | None],
    queue: str | None,
    owner: str | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """The SLA clocks that start for a lead now in `stage`, routed to `queue`/`owner`; `before`
    is its (stage, owner) before this record."""
    return plan_timers(
        cfg.lifecycle,
        cfg.routing.config,
        cfg.routing.calendars,
        lead_id=lead_id,
        stage=stage,
        prev_stage=before[0],
        owner=owner,
        prev_owner=before[1],
        queue=queue,
        actor_kind="rule",
        now=now,
    )


def decide(
    prepared: Sequence[Prepared],
    cfg: CompiledConfig,
    *,
    existing: Mapping[str, StoredLead],
    lookups: Mapping[str, Mapping[str, dict[str, Any]]],
    suppression: SuppressionIndex,
    take_slot: Callable[[str], int],
    now: datetime,
    new_id: Callable[[], str],
) -> list[Outcome]:
    """Run enrich → … → route for a batch, in order; a repeated email within it updates the lead.

    `take_slot(queue)` hands out the queue's next round-robin position; the service backs it
    with the store (atomically) so that concurrent writers never share a slot.
    """
    known: dict[str, StoredLead] = dict(existing)
    outcomes = []
    for p in prepared:
        if p.lead is None:
            outcomes.append(Outcome("quarantined", p.raw, p.issues))
            continue
        lead = enrich(p.lead, lookups)
        j = judge(lead, known.get(lead.email), cfg, suppression, now, new_id)
        a, data = (
            assign(j.view, cfg, take_slot, now, j.queue, j.owner) if not j.blocked else (None, {})
        )
        outcome = conclude(j, p, cfg, a, data, now)
        outcomes.append(outcome)
        known[j.lead.email] = stored(j, outcome.queue, outcome.owner)
    return outcomes
