"""KPIs of the experimentation programme itself: throughput that meets power, and unit cost.

An experiment "meets power" when every arm reached the sample size its plan required; counting only
those keeps a team from looking productive by shipping underpowered tests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class ExperimentRecord:
    """A concluded experiment, as the programme log keeps it."""

    key: str
    concluded_on: date
    required_per_arm: int
    units_per_arm: tuple[int, ...]
    direct_cost: Decimal = Decimal("0")  # agency, design, paid traffic bought for this test

    @property
    def meets_power(self) -> bool:
        return bool(self.units_per_arm) and min(self.units_per_arm) >= self.required_per_arm


def experiments_per_month_meeting_power(records: Iterable[ExperimentRecord]) -> dict[str, int]:
    """Concluded experiments that reached their planned sample, per calendar month ("YYYY-MM")."""
    counts: Counter[str] = Counter()
    for r in records:
        month = f"{r.concluded_on:%Y-%m}"
        counts[month] += 0  # months with only underpowered tests still appear, with 0
        if r.meets_power:
            counts[month] += 1
    return dict(sorted(counts.items()))


def experiment_capacity_per_month(
    traffic_per_day: float, total_sample_per_experiment: int, days_in_month: int = 30
) -> int:
    """How many fully powered experiments the traffic allows in a month, run one after another."""
    if traffic_per_day <= 0 or total_sample_per_experiment <= 0:
        return 0
    return int(traffic_per_day * days_in_month // total_sample_per_experiment)


def cost_per_experiment(
    records: Iterable[ExperimentRecord],
    shared_cost: Decimal = Decimal("0"),
    *,
    only_powered: bool = False,
) -> Decimal | None:
    """(shared programme cost for the period + direct costs) / experiments, to the cent.

    With `only_powered`, only experiments that met power count in the denominator (their direct
    costs and the underpowered ones' are all still paid), which prices a *useful* experiment.
    None when there is nothing to divide by.
    """
    items = list(records)
    total = shared_cost + sum((r.direct_cost for r in items), Decimal("0"))
    count = sum(1 for r in items if r.meets_power) if only_powered else len(items)
    if count == 0:
        return None
    return (total / count).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
