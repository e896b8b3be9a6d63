"""Route stage: first matching rule sends a lead to a queue or an owner; round-robin inside queues.

Round-robin is weighted and smooth (nginx's algorithm): weights 2:1 give a, b, a — not a, a, b.
The stage maps a queue position to a member; the service hands out positions atomically from the
store, which is what keeps two concurrent writers from assigning the same slot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from marketops.pipeline.records import Assignment
from marketops.workspace.conditions import compile_all
from marketops.workspace.models import Queue, Routing

if TYPE_CHECKING:
    from marketops.ops.calendars.business import BusinessCalendar
    from marketops.routing.accounts import Account, AccountIndex


def smooth_weighted_sequence(members: list[tuple[str, int]]) -> list[str]:
    """One full cycle of smooth weighted round-robin (length = sum of weights)."""
    if not members:
        return []
    current = {name: 0 for name, _ in members}
    total = sum(w for _, w in members)
    seq = []
    for _ in range(total):
        for name, w in members:
            current[name] += w
        best = max(members, key=lambda m: current[m[0]])[0]
        current[best] -= total
        seq.append(best)
    return seq


@dataclass(frozen=True)
class CompiledRouting:
    # (name, predicate, queue, owner, to the account owner?)
    rules: list[tuple[str, Callable[[Mapping[str, Any]], bool], str | None, str | None, bool]]
    cycles: dict[str, list[str]]  # queue -> round-robin cycle of member names
    queues: dict[str, Queue] = field(default_factory=dict)
    calendars: Mapping[str, BusinessCalendar] = field(default_factory=dict)
    accounts_csv: list[Account] = field(default_factory=list)
    fuzzy_threshold: float = 90.0
    config: Routing | None = None


def compile_routing(
    cfg: Routing,
    calendars: Mapping[str, BusinessCalendar] | None = None,
    accounts_csv: list[Account] | None = None,
) -> CompiledRouting:
    rules = [(r.name, compile_all(r.when), r.queue, r.owner, r.account_owner) for r in cfg.rules]
    cycles = {
        q.name: smooth_weighted_sequence([(m.name, m.weight) for m in q.members])
        for q in cfg.queues
    }
    return CompiledRouting(
        rules,
        cycles,
        {q.name: q for q in cfg.queues},
        dict(calendars or {}),
        list(accounts_csv or []),
        cfg.accounts.fuzzy_threshold,
        cfg,
    )


def route(
    view: Mapping[str, Any],
    routing: CompiledRouting,
    accounts: AccountIndex | None = None,
    reasons: list[str] | None = None,
) -> Assignment | None:
    """The first rule whose conditions all hold; None when no rule matches.

    An `account_owner` rule applies only when the lead matches an account (domain, then fuzzy
    company name); otherwise evaluation goes on. `reasons`, when given, collects why.
    """
    evaluated = []
    for name, pred, queue, owner, to_account in routing.rules:
        evaluated.append(name)
        if not pred(view):
            continue
        if to_account:
            found = (
                accounts.match(
                    view.get("company_domain"), view.get("company"), routing.fuzzy_threshold
                )
                if accounts is not None
                else None
            )
            if found is None:
                if reasons is not None:
                    reasons.append(f"rule {name}: conditions hold but no account matches")
                continue
            if reasons is not None:
                reasons.append(f"rule {name}: {found.reason()} -> owner {found.account.owner}")
            return Assignment(queue=None, owner=found.account.owner, rule=name, evaluated=evaluated)
        if reasons is not None:
            reasons.append(
                f"rule {name}: all conditions hold -> "
                + (f"queue {queue}" if queue else f"owner {owner}")
            )
        return Assignment(queue=queue, owner=owner, rule=name, evaluated=evaluated)
    return None


def member_at(routing: CompiledRouting, queue: str, position: int) -> str | None:
    """The member holding round-robin slot `position` (0-based) of `queue`; None if it has none."""
    cycle = routing.cycles.get(queue) or []
    return cycle[position % len(cycle)] if cycle else None


def needs_slot(routing: CompiledRouting, a: Assignment) -> bool:
    """Whether completing `a` picks a queue member (a round-robin slot), so depends on the
    store's state: a queue with members and no owner named."""
    return a.owner is None and a.queue is not None and bool(routing.cycles.get(a.queue))
