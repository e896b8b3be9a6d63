"""Read the store into an Ibis backend: attribution's three tables plus the KPI inputs.

`load_store(engine, con)` creates, in `con`:

- `touchpoints`, `conversions`, `costs` in attribution's schemas (analytics/attribution/schema.py),
  so `marketops attribute` can run on what `POST /v1/events` collected;
- `stage_entries` (lead_id, stage, at): every lifecycle move from `lead_events` (kind "stage");
- `opportunities` (opportunity_id, person_id, created_at, closed_at, status, amount).

`con` must be a scratch engine (an in-memory DuckDB): tables of these names in it are replaced.

A person is the lead an anonymousId/userId is linked to, else `anon:<anonymousId>` /
`user:<userId>`. Links are applied here, at read time, so a late identify links earlier visits.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa
from sqlalchemy import Engine, select

from marketops.analytics.attribution.load import put_tables
from marketops.analytics.attribution.schema import MONEY, SCHEMAS, TS
from marketops.store.schema import lead_events, leads
from marketops.store.tables_events import (
    event_identities,
    marketing_costs,
    opportunities,
    touchpoints,
)

STAGE_ENTRIES = ibis.schema({"lead_id": dt.String(nullable=False), "stage": dt.string, "at": TS})
OPPORTUNITIES = ibis.schema(
    {
        "opportunity_id": dt.String(nullable=False),
        "person_id": dt.string,
        "created_at": TS,
        "closed_at": TS,
        "status": dt.string,
        "amount": MONEY,
    }
)
KPI_SCHEMAS = {"stage_entries": STAGE_ENTRIES, "opportunities": OPPORTUNITIES}
# conversion kinds written for attribution (its defaults: lead_kind, opportunity_kind, won_kind)
LEAD_KIND, OPPORTUNITY_KIND, WON_KIND = "lead_created", "opportunity", "closed_won"


class _People:
    def __init__(self, links: dict[tuple[str, str], str]):
        self.links = links

    def __call__(self, anon: str | None, user: str | None) -> str | None:
        if user and ("user", user) in self.links:
            return self.links[("user", user)]
        if anon and ("anon", anon) in self.links:
            return self.links[("anon", anon)]
        if anon:
            return f"anon:{anon}"
        return f"user:{user}" if user else None


def store_tables(engine: Engine) -> dict[str, pa.Table]:
    """The five tables as Arrow, read in one connection (a consistent snapshot on PostgreSQL)."""
    with engine.connect() as conn:
        person = _People(
            {
                (k, v): lead
                for k, v, lead in conn.execute(
                    select(event_identities.c["kind", "value", "lead_id"])
                )
            }
        )
        tp = (
            conn.execute(select(touchpoints).order_by(touchpoints.c.ts, touchpoints.c.id))
            .mappings()
            .all()
        )
        opps = conn.execute(select(opportunities).order_by(opportunities.c.id)).mappings().all()
        lead_rows = conn.execute(select(leads.c.id, leads.c.created_at)).all()
        stage_rows = conn.execute(
            select(lead_events.c.lead_id, lead_events.c.at, lead_events.c.data)
            .where(lead_events.c.kind == "stage")
            .order_by(lead_events.c.at, lead_events.c.id)
        ).all()
        cost_rows = conn.execute(select(marketing_costs)).mappings().all()

    def table(name: str, cols: dict[str, list[Any]]) -> pa.Table:
        schema = (SCHEMAS | KPI_SCHEMAS)[name].to_pyarrow()
        return pa.table(
            {f.name: pa.array(cols[f.name], type=f.type) for f in schema}, schema=schema
        )

    out: dict[str, pa.Table] = {}
    out["touchpoints"] = table(
        "touchpoints",
        {
            "person_id": [person(r["anonymous_id"], r["user_id"]) for r in tp],
            "ts": [r["ts"] for r in tp],
            **{
                c: [r[c] for r in tp]
                for c in ("channel", "source", "medium", "campaign", "content")
            },
            "touch_type": [r["touch_type"] for r in tp],
        },
    )
    conv: dict[str, list[Any]] = {
        k: [] for k in ("conversion_id", "person_id", "ts", "kind", "amount", "won")
    }

    def add(
        cid: str, pid: str | None, ts: datetime, kind: str, amount: Decimal | None, won: bool | None
    ) -> None:
        for k, v in zip(conv, (cid, pid, ts, kind, amount, won), strict=True):
            conv[k].append(v)

    for lead_id, created in lead_rows:
        add(f"lead:{lead_id}", lead_id, created, LEAD_KIND, None, None)
    opp_cols: dict[str, list[Any]] = {k: [] for k in OPPORTUNITIES.names}
    for r in opps:
        pid = person(r["anonymous_id"], r["user_id"])
        won = {"won": True, "lost": False}.get(r["status"])
        add(f"opp:{r['id']}", pid, r["created_at"], OPPORTUNITY_KIND, r["amount"], won)
        if r["status"] == "won" and r["closed_at"] is not None:
            add(f"won:{r['id']}", pid, r["closed_at"], WON_KIND, r["amount"], True)
        for k, v in zip(
            OPPORTUNITIES.names,
            (r["id"], pid, r["created_at"], r["closed_at"], r["status"], r["amount"]),
            strict=True,
        ):
            opp_cols[k].append(v)
    out["conversions"] = table("conversions", conv)
    out["opportunities"] = table("opportunities", opp_cols)
    out["costs"] = table(
        "costs",
        {
            "campaign": [r["campaign"] or None for r in cost_rows],
            "channel": [r["channel"] or None for r in cost_rows],
            "day": [r["day"] for r in cost_rows],
            "spend": [r["spend"] for r in cost_rows],
        },
    )
    out["stage_entries"] = table(
        "stage_entries",
        {
            "lead_id": [r[0] for r in stage_rows],
            "stage": [(r[2] or {}).get("to") for r in stage_rows],
            "at": [r[1] for r in stage_rows],
        },
    )
    return out


def put_kpi_tables(con: Any, tables: dict[str, pa.Table]) -> None:
    """Create (or replace) the tables in an Ibis backend (attribution's loader for its three)."""
    put_tables(con, {k: v for k, v in tables.items() if k in SCHEMAS})
    for name, schema in KPI_SCHEMAS.items():
        if name in tables:
            if con.name == "pyspark":
                con._session.createDataFrame(tables[name]).createOrReplaceTempView(name)
            else:
                con.create_table(name, tables[name], schema=schema, overwrite=True)


def load_store(engine: Engine, con: Any) -> dict[str, Any]:
    """Load the store into `con`; returns the Ibis tables by name (attribution's three included)."""
    tables = store_tables(engine)
    put_kpi_tables(con, tables)
    return {name: con.table(name) for name in tables}
