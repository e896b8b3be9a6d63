"""A small hand-computed world for the KPI tests (expected values worked out in the comments)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa

from marketops.analytics.attribution.schema import SCHEMAS
from marketops.analytics.kpis.config import KpisConfig
from marketops.events.analytics import KPI_SCHEMAS

FUNNEL = ["Known", "MQL", "SQL", "Customer"]
NOW = datetime(2026, 11, 15, tzinfo=UTC)
CFG = KpisConfig.model_validate({"clv": {"churn_rate": 0.02, "gross_margin": 0.75}})


def t(month: int, day: int) -> datetime:
    return datetime(2026, month, day, tzinfo=UTC)


STAGES = {
    "A": [("Known", t(9, 20)), ("MQL", t(10, 2)), ("SQL", t(10, 10)), ("Customer", t(10, 25))],
    "B": [("Known", t(10, 1)), ("MQL", t(10, 5)), ("SQL", t(10, 30))],
    "C": [("Known", t(10, 3)), ("MQL", t(10, 12)), ("Nurture", t(10, 20)), ("MQL", t(10, 28))],
    "D": [("Known", t(10, 4))],
    "E": [("Known", t(9, 5)), ("MQL", t(9, 10))],
    "F": [("Known", t(10, 6)), ("SQL", t(10, 16))],  # skips MQL
    "G": [("Known", t(10, 8))],
    "H": [("MQL", t(10, 7))],  # created straight into MQL
}
# (id, person, created, closed, status, amount)
OPPS = [
    ("O1", "A", t(10, 5), t(10, 25), "won", "12000.00"),
    ("O2", "B", t(10, 12), None, "open", "5000.00"),
    ("O3", "C", t(10, 15), t(10, 28), "lost", "3000.00"),
    ("O4", "F", t(9, 1), t(10, 20), "won", "6000.00"),
    ("O5", "anon:x9", t(10, 20), None, "open", "1000.00"),
]
# (person, ts, channel, source, medium, campaign)
TOUCHES = [
    ("A", t(9, 15), "Paid Search", "google", "cpc", "brand"),
    ("A", t(10, 1), "Email", "newsletter", "email", "oct-news"),
    ("B", t(9, 1), "Direct", None, None, None),
    ("B", t(10, 10), "Organic Social", "linkedin", "social", "launch"),
    ("C", t(7, 1), "Email", "newsletter", "email", "summer"),
    ("F", t(8, 20), "Paid Social", "facebook", "paid_social", "retarget"),
]
COSTS = [
    (date(2026, 10, 1), "brand", "Paid Search", "1000.00"),
    (date(2026, 10, 15), "brand", "Paid Search", "500.00"),
    (date(2026, 10, 3), "oct-news", "Email", "200.00"),
    (date(2026, 9, 30), "brand", "Paid Search", "999.00"),  # outside October
    (date(2026, 10, 20), "retarget", "Paid Social", "300.00"),
]


def _table(name: str, cols: dict[str, list]) -> pa.Table:
    schema = (SCHEMAS | KPI_SCHEMAS)[name].to_pyarrow()
    return pa.table({f.name: pa.array(cols[f.name], type=f.type) for f in schema}, schema=schema)


def tables() -> dict[str, pa.Table]:
    se = [(lead, stage, at) for lead, moves in STAGES.items() for stage, at in moves]
    conv = []
    for oid, person, created, closed, status, amount in OPPS:
        won = {"won": True, "lost": False}.get(status)
        conv.append((f"opp:{oid}", person, created, "opportunity", Decimal(amount), won))
        if status == "won":
            conv.append((f"won:{oid}", person, closed, "closed_won", Decimal(amount), True))
    return {
        "stage_entries": _table(
            "stage_entries",
            {"lead_id": [r[0] for r in se], "stage": [r[1] for r in se], "at": [r[2] for r in se]},
        ),
        "opportunities": _table(
            "opportunities",
            {
                "opportunity_id": [o[0] for o in OPPS],
                "person_id": [o[1] for o in OPPS],
                "created_at": [o[2] for o in OPPS],
                "closed_at": [o[3] for o in OPPS],
                "status": [o[4] for o in OPPS],
                "amount": [Decimal(o[5]) for o in OPPS],
            },
        ),
        "touchpoints": _table(
            "touchpoints",
            {
                "person_id": [x[0] for x in TOUCHES],
                "ts": [x[1] for x in TOUCHES],
                "channel": [x[2] for x in TOUCHES],
                "source": [x[3] for x in TOUCHES],
                "medium": [x[4] for x in TOUCHES],
                "campaign": [x[5] for x in TOUCHES],
                "content": [None] * len(TOUCHES),
                "touch_type": ["visit"] * len(TOUCHES),
            },
        ),
        "conversions": _table(
            "conversions",
            {
                k: [c[i] for c in conv]
                for i, k in enumerate(["conversion_id", "person_id", "ts", "kind", "amount", "won"])
            },
        ),
        "costs": _table(
            "costs",
            {
                "day": [c[0] for c in COSTS],
                "campaign": [c[1] for c in COSTS],
                "channel": [c[2] for c in COSTS],
                "spend": [Decimal(c[3]) for c in COSTS],
            },
        ),
    }


def by_key(report) -> dict[tuple[str, str, str], object]:
    """(name, label, method) -> Kpi."""
    return {(k.name, k.label, k.method): k for k in report.kpis}
