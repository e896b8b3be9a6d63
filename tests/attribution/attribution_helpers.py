"""Small builders shared by the attribution tests: records in, a loaded Ibis backend out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from marketops.analytics.attribution import AttributionConfig, attribute, load_records, put_tables
from marketops.analytics.engines import connect

T0 = datetime(2024, 1, 1, tzinfo=UTC)
NOW = datetime(2024, 6, 1, tzinfo=UTC)


def at(days: float) -> str:
    return (T0 + timedelta(days=days)).isoformat()


def touch(person: str, days: float, channel: str | None, **tags: Any) -> dict[str, Any]:
    return {"person_id": person, "ts": at(days), "channel": channel, **tags}


def conversion(
    cid: str,
    person: str | None,
    days: float,
    kind: str = "closed_won",
    amount: str | None = "100.00",
) -> dict[str, Any]:
    return {
        "conversion_id": cid,
        "person_id": person,
        "ts": at(days),
        "kind": kind,
        "amount": amount,
    }


def backend(
    touches: list[dict],
    conversions: list[dict],
    costs: list[dict] | None = None,
    url: str | None = None,
) -> Any:
    con = connect(url)
    put_tables(
        con,
        {
            "touchpoints": load_records("touchpoints", touches),
            "conversions": load_records("conversions", conversions),
            "costs": load_records("costs", costs) if costs is not None else None,
        },
    )
    return con


def run(con: Any, now: datetime = NOW, **settings: Any):
    return attribute(con, AttributionConfig(**settings), now)


def credit(result: Any, model: str) -> dict[str, float]:
    return {
        c.group: c.conversions for c in result.credits if c.model == model and c.conversions != 0
    }


WORLD_NOW = datetime(2024, 4, 1, tzinfo=UTC)


def run_world(url: str, world, by: str) -> dict[tuple[str, str], tuple[float, str]]:
    con = connect(url)
    try:
        put_tables(
            con,
            {
                "touchpoints": world.touchpoints,
                "conversions": world.conversions,
                "costs": world.costs,
            },
        )
        cfg = AttributionConfig(
            by=by,
            kinds=["closed_won"],
            lookback_days=120,
            conversion_window_days=60,
            shapley_exact_max=15,
        )
        r = attribute(con, cfg, WORLD_NOW)
    finally:
        con.disconnect()
    out = {(c.group, c.model): (c.conversions, str(c.revenue)) for c in r.credits}
    out[("coverage", "lines")] = (0.0, repr(r.coverage))
    return out


def same_credits(got, want):
    assert got.keys() == want.keys()
    for k, (n, rev) in want.items():
        assert got[k][0] == pytest.approx(n, abs=1e-9), k
        assert got[k][1] == rev or abs(float(got[k][1]) - float(rev)) <= 0.011, k
