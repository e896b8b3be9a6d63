"""Ibis schemas of the three input tables; other parts load these tables from the store later."""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt

TS = dt.Timestamp(timezone="UTC")
MONEY = dt.Decimal(18, 2)

TOUCHPOINTS = ibis.schema(
    {
        "person_id": dt.String(nullable=False),
        "ts": TS,
        "channel": dt.string,
        "source": dt.string,
        "medium": dt.string,
        "campaign": dt.string,
        "content": dt.string,
        "touch_type": dt.string,
    }
)

CONVERSIONS = ibis.schema(
    {
        "conversion_id": dt.String(nullable=False),
        # nullable: a conversion whose person is unknown still counts (as unattributed) in coverage
        "person_id": dt.string,
        "ts": TS,
        "kind": dt.String(nullable=False),
        "amount": MONEY,
        "won": dt.boolean,
    }
)

COSTS = ibis.schema(
    {
        "campaign": dt.string,
        "channel": dt.string,
        "day": dt.date,
        "spend": MONEY,
    }
)

SCHEMAS = {"touchpoints": TOUCHPOINTS, "conversions": CONVERSIONS, "costs": COSTS}
