"""Programme KPIs: powered throughput per month and cost per experiment (hand-computed)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from marketops.ops.experiments import (
    ExperimentRecord,
    cost_per_experiment,
    experiment_capacity_per_month,
    experiments_per_month_meeting_power,
)

LOG = [
    ExperimentRecord("a", date(2026, 9, 3), 1000, (1200, 1100), Decimal("500.00")),
    ExperimentRecord("b", date(2026, 9, 20), 1000, (1200, 900), Decimal("250.50")),  # short arm
    ExperimentRecord("c", date(2026, 10, 1), 5000, (5000, 5001)),
    ExperimentRecord("d", date(2026, 11, 12), 800, (700, 700), Decimal("100")),
]


def test_throughput_counts_only_powered_tests_per_month() -> None:
    assert experiments_per_month_meeting_power(LOG) == {"2026-09": 1, "2026-10": 1, "2026-11": 0}
    assert experiments_per_month_meeting_power([]) == {}


def test_cost_per_experiment() -> None:
    # (3000 shared + 500 + 250.50 + 0 + 100) / 4 = 962.625 -> 962.63 (half up)
    assert cost_per_experiment(LOG, Decimal("3000")) == Decimal("962.63")
    # per powered experiment: 3850.50 / 2 = 1925.25
    assert cost_per_experiment(LOG, Decimal("3000"), only_powered=True) == Decimal("1925.25")
    assert cost_per_experiment([], Decimal("10")) is None


def test_capacity_from_traffic() -> None:
    # 2,000 users/day * 30 days = 60,000; 7,682 per experiment -> 7 full experiments
    assert experiment_capacity_per_month(2000, 7682) == 7
    assert experiment_capacity_per_month(0, 7682) == 0
