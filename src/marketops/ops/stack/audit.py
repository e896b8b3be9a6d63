"""The tool-stack audit: what each tool costs, who uses it, what is wasted, what renews soon.

Pure: the inventory and `today` come in, figures and findings go out. Money stays Decimal and is
rounded to the cent only in the figures shown, never before a sum.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from marketops.ops.stack.config import Stack, Tool

CENT = Decimal("0.01")


def _money(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class ToolAudit:
    name: str
    category: str
    owner: str
    annual_cost: Decimal
    seats: int
    active_users: int
    utilization: Decimal | None  # active / seats; None for tools not priced by seat
    underused: bool
    cost_per_active_user: Decimal | None  # None when nobody uses it
    unused_seats: int
    waste: Decimal  # unused seats x per-seat cost, per year
    renewal_date: date
    days_to_renewal: int
    renewal_due: bool
    renewal_passed: bool
    integrations: list[str]
    no_integrations: bool
    score: Decimal | None  # weighted mean on the scorecard scale
    score_complete: bool


@dataclass
class Overlap:
    category: str
    tools: list[str]
    annual_cost: Decimal


@dataclass
class StackAudit:
    today: date
    currency: str
    renewal_window_days: int
    utilization_threshold: Decimal
    scale_max: int
    tools: list[ToolAudit]
    overlaps: list[Overlap]
    total_annual_cost: Decimal
    total_waste: Decimal
    findings: list[str] = field(default_factory=list)

    @property
    def renewals(self) -> list[ToolAudit]:
        return sorted((t for t in self.tools if t.renewal_due), key=lambda t: t.renewal_date)

    @property
    def ranking(self) -> list[ToolAudit]:
        scored = [t for t in self.tools if t.score is not None]
        return sorted(scored, key=lambda t: (-t.score, t.name))  # type: ignore[operator]

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["renewals"] = [t.name for t in self.renewals]
        out["scorecard_ranking"] = [{"name": t.name, "score": t.score} for t in self.ranking]
        return out


def weighted_score(tool: Tool, stack: Stack) -> tuple[Decimal | None, bool]:
    """Σ weight·score / Σ weight over every criterion; an unscored criterion counts as 0."""
    criteria = stack.scorecard.criteria
    if not criteria or not tool.scores:
        return None, False
    total_w = sum((c.weight for c in criteria), Decimal(0))
    total = sum((c.weight * tool.scores.get(c.key, Decimal(0)) for c in criteria), Decimal(0))
    complete = all(c.key in tool.scores for c in criteria)
    return (total / total_w).quantize(CENT, rounding=ROUND_HALF_UP), complete


def audit_tool(tool: Tool, stack: Stack, today: date) -> ToolAudit:
    seats, active = tool.seats, tool.active_users
    utilization = (Decimal(active) / Decimal(seats)).quantize(Decimal("0.0001")) if seats else None
    unused = max(seats - active, 0)
    waste = tool.annual_cost * unused / seats if seats else Decimal(0)
    days = (tool.renewal_date - today).days
    score, complete = weighted_score(tool, stack)
    return ToolAudit(
        name=tool.name,
        category=tool.category,
        owner=tool.owner,
        annual_cost=_money(tool.annual_cost),
        seats=seats,
        active_users=active,
        utilization=utilization,
        underused=utilization is not None and utilization < stack.utilization_threshold,
        cost_per_active_user=_money(tool.annual_cost / active) if active else None,
        unused_seats=unused,
        waste=_money(waste),
        renewal_date=tool.renewal_date,
        days_to_renewal=days,
        renewal_due=0 <= days <= stack.renewal_window_days,
        renewal_passed=days < 0,
        integrations=list(tool.integrations),
        no_integrations=not tool.integrations,
        score=score,
        score_complete=complete,
    )


def audit_stack(stack: Stack, today: date) -> StackAudit:
    """Audit every tool, find overlapping categories and list what needs a decision."""
    tools = [audit_tool(t, stack, today) for t in stack.tools]
    by_category: dict[str, list[Tool]] = defaultdict(list)
    for t in stack.tools:
        by_category[t.category.casefold()].append(t)
    overlaps = [
        Overlap(
            group[0].category,
            [t.name for t in group],
            _money(sum((t.annual_cost for t in group), Decimal(0))),
        )
        for group in by_category.values()
        if len(group) > 1
    ]
    threshold_pct = f"{stack.utilization_threshold * 100:.0f}%"
    findings: list[str] = []
    for a in tools:
        if a.underused:
            findings.append(
                f"{a.name}: {a.utilization * 100:.0f}% of seats used (< {threshold_pct}),"  # type: ignore[operator]
                f" {a.unused_seats} unused seats waste {a.waste} {stack.currency}/year"
            )
        if a.active_users == 0 and a.annual_cost > 0:
            findings.append(f"{a.name}: no active users for {a.annual_cost} {stack.currency}/year")
        if a.renewal_due:
            findings.append(f"{a.name}: renews in {a.days_to_renewal} days ({a.renewal_date})")
        if a.renewal_passed:
            findings.append(f"{a.name}: renewal date {a.renewal_date} has passed; update stack.yml")
        if a.no_integrations:
            findings.append(f"{a.name}: integrated with nothing")
    for o in overlaps:
        findings.append(
            f"category {o.category}: {len(o.tools)} overlapping tools "
            f"({', '.join(o.tools)}) cost {o.annual_cost} {stack.currency}/year"
        )
    return StackAudit(
        today=today,
        currency=stack.currency,
        renewal_window_days=stack.renewal_window_days,
        utilization_threshold=stack.utilization_threshold,
        scale_max=stack.scorecard.scale_max,
        tools=tools,
        overlaps=overlaps,
        total_annual_cost=_money(sum((t.annual_cost for t in stack.tools), Decimal(0))),
        total_waste=_money(
            sum(
                (
                    t.annual_cost * max(t.seats - t.active_users, 0) / t.seats
                    for t in stack.tools
                    if t.seats
                ),
                Decimal(0),
            )
        ),
        findings=findings,
    )
