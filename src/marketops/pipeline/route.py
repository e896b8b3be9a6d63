"""Route stage: first matching rule sends a lead to a queue or an owner; round-robin inside queues.

Round-robin is weighted and smooth (nginx's algorithm): weights 2:1 give a, b, a — not a, a, b.
The stage maps a queue position to a member; the service hands out positions atomically from the
store, which is what keeps two concurrent writers from assigning the same slot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from marketops.pipeline.records import Assignment
from marketops.workspace.conditions import compile_all
from marketops.workspace.models import Routing


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
    rules: list[tuple[str, Callable[[Mapping[str, Any]], bool], str | None, str | None]]
    cycles: dict[str, list[str]]  # queue -> round-robin cycle of member names


def compile_routing(cfg: Routing) -> CompiledRouting:
    rules = [(r.name, compile_all(r.when), r.queue, r.owner) for r in cfg.rules]
    cycles = {
        q.name: smooth_weighted_sequence([(m.name, m.weight) for m in q.members])
        for q in cfg.queues
    }
    return CompiledRouting(rules, cycles)


def route(view: Mapping[str, Any], routing: CompiledRouting) -> Assignment | None:
    """The first rule whose conditions all hold; None when no rule matches."""
    evaluated = []
    for name, pred, queue, owner in routing.rules:
        evaluated.append(name)
        if pred(view):
            return Assignment(queue=queue, owner=owner, rule=name, evaluated=evaluated)
    return None


def member_at(routing: CompiledRouting, queue: str, position: int) -> str | None:
    """The member holding round-robin slot `position` (0-based) of `queue`; None if it has none."""
    cycle = routing.cycles.get(queue) or []
    return cycle[position % len(cycle)] if cycle else None


def needs_slot(routing: CompiledRouting, a: Assignment) -> bool:
    return a.owner is None and a.queue is not None and bool(routing.cycles.get(a.queue))
