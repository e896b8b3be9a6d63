"""Read the store into the four tables the segment SQL runs on (Arrow, then an Ibis backend).

Only what rules need is read: the activity types they name, the attributes they test (turned into
text with `values.as_text`, so SQL compares the same strings as the Python evaluator).
Times become naive UTC, the engine's plain `timestamp`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa
from sqlalchemy import Connection, select

from marketops.segments.sql import TABLES, attr_column
from marketops.segments.values import LEAD_FIELDS, as_text
from marketops.store.schema import activities, leads
from marketops.store.tables_events import event_identities, opportunities
from marketops.store.tables_identity import identities, identity_links
from marketops.store.tables_segments import segment_members

CHUNK = 50_000


def empty_tables(attributes: Iterable[str]) -> dict[str, ibis.Schema]:
    lead_cols: dict[str, Any] = {name: kind for name, kind in LEAD_FIELDS.items()}
    lead_cols["id"] = dt.String(nullable=False)
    lead_cols["identity_size"] = "int64"
    for a in sorted(attributes):
        lead_cols[attr_column(a)] = "string"
    schemas = [
        ibis.schema(lead_cols),
        ibis.schema({"lead_id": "string", "type": "string", "occurred_at": "timestamp"}),
        ibis.schema({"list": "string", "lead_id": "string"}),
        ibis.schema({"lead_id": "string", "status": "string", "amount": "float64"}),
    ]
    return dict(zip(TABLES, schemas, strict=True))


def _naive(ts: Any) -> Any:
    return None if ts is None else ts.replace(tzinfo=None)


def read_store(
    conn: Connection,
    attributes: Iterable[str],
    activity_types: Iterable[str],
    lead_ids: list[str] | None = None,
) -> dict[str, pa.Table]:
    """The four tables from the store (all leads, or only `lead_ids`), as Arrow."""
    attributes = sorted(attributes)
    schemas = {n: s.to_pyarrow() for n, s in empty_tables(attributes).items()}
    only = (lambda col: col.in_(lead_ids)) if lead_ids is not None else None

    sizes = dict(
        conn.execute(
            select(identity_links.c.lead_id, identities.c.size).join(
                identities, identities.c.id == identity_links.c.identity_id
            )
        ).all()
    )
    cols: dict[str, list[Any]] = {f.name: [] for f in schemas["seg_leads"]}
    fields = [c for c in LEAD_FIELDS if c != "id"]
    q = select(leads.c.id, *(leads.c[c] for c in fields), leads.c.attributes)
    if only:
        q = q.where(only(leads.c.id))
    for row in conn.execute(q.execution_options(yield_per=CHUNK)):
        cols["id"].append(row[0])
        for i, c in enumerate(fields, start=1):
            cols[c].append(row[i])
        attrs = row[-1] or {}
        for a in attributes:
            cols[attr_column(a)].append(as_text(attrs.get(a)))
        cols["identity_size"].append(sizes.get(row[0], 1))
    out = {"seg_leads": pa.table(cols, schema=schemas["seg_leads"])}

    types = sorted(activity_types)
    acts: dict[str, list[Any]] = {"lead_id": [], "type": [], "occurred_at": []}
    if types:
        q = select(activities.c.lead_id, activities.c.type, activities.c.occurred_at).where(
            activities.c.type.in_(types)
        )
        if only:
            q = q.where(only(activities.c.lead_id))
        for lid, typ, at in conn.execute(q.execution_options(yield_per=CHUNK)):
            acts["lead_id"].append(lid)
            acts["type"].append(typ)
            acts["occurred_at"].append(_naive(at))
    out["seg_activities"] = pa.table(acts, schema=schemas["seg_activities"])

    q = select(segment_members.c.segment, segment_members.c.lead_id).where(
        segment_members.c.kind == "list"
    )
    if only:
        q = q.where(only(segment_members.c.lead_id))
    rows = conn.execute(q).all()
    out["seg_lists"] = pa.table(
        {"list": [r[0] for r in rows], "lead_id": [r[1] for r in rows]},
        schema=schemas["seg_lists"],
    )
    opps = lead_opportunities(conn, lead_ids)
    out["seg_opportunities"] = pa.table(
        {
            "lead_id": [o[0] for o in opps],
            "status": [o[1] for o in opps],
            "amount": [None if o[2] is None else float(o[2]) for o in opps],
        },
        schema=schemas["seg_opportunities"],
    )
    return out


def lead_opportunities(conn: Connection, lead_ids: list[str] | None) -> list[tuple[str, str, Any]]:
    """(lead_id, status, amount) for opportunities whose userId/anonymousId is linked to a lead
    (the userId link wins, as in the analytics)."""
    links = {
        (k, v): lid
        for k, v, lid in conn.execute(select(event_identities.c["kind", "value", "lead_id"]))
    }
    if not links:
        return []
    wanted = None if lead_ids is None else set(lead_ids)
    out = []
    for user, anon, status, amount in conn.execute(
        select(
            opportunities.c.user_id,
            opportunities.c.anonymous_id,
            opportunities.c.status,
            opportunities.c.amount,
        )
    ):
        lid = links.get(("user", user)) if user else None
        if lid is None and anon:
            lid = links.get(("anon", anon))
        if lid is not None and (wanted is None or lid in wanted):
            out.append((lid, status, amount))
    return out


def put(con: Any, data: dict[str, pa.Table]) -> None:
    """Create (or replace) the four tables in a scratch Ibis backend."""
    for name, table in data.items():
        con.create_table(name, table, overwrite=True)


def lead_views(
    conn: Connection, lead_ids: list[str], activity_types: Iterable[str]
) -> dict[str, tuple[dict[str, Any], dict[str, list[Any]]]]:
    """What the Python evaluator needs for each of `lead_ids`: the lead mapping (columns,
    attributes, identity_size, lists, opportunities) and its activities indexed by type."""
    from marketops.segments.rules import index_activities

    fields = [c for c in LEAD_FIELDS if c != "id"]
    views: dict[str, dict[str, Any]] = {}
    for row in conn.execute(
        select(leads.c.id, *(leads.c[c] for c in fields), leads.c.attributes).where(
            leads.c.id.in_(lead_ids)
        )
    ):
        lead = dict(zip(["id", *fields, "attributes"], row, strict=True))
        lead.update(identity_size=1, lists=set(), opportunities=[])
        views[row[0]] = lead
    ids = list(views)
    for lid, size in conn.execute(
        select(identity_links.c.lead_id, identities.c.size)
        .join(identities, identities.c.id == identity_links.c.identity_id)
        .where(identity_links.c.lead_id.in_(ids))
    ):
        views[lid]["identity_size"] = size
    for seg, lid in conn.execute(
        select(segment_members.c.segment, segment_members.c.lead_id).where(
            segment_members.c.kind == "list", segment_members.c.lead_id.in_(ids)
        )
    ):
        views[lid]["lists"].add(seg)
    for lid, status, amount in lead_opportunities(conn, ids):
        views[lid]["opportunities"].append({"status": status, "amount": amount})
    acts: dict[str, list[dict[str, Any]]] = {lid: [] for lid in ids}
    types = sorted(activity_types)
    if types and ids:
        for lid, typ, at in conn.execute(
            select(activities.c.lead_id, activities.c.type, activities.c.occurred_at).where(
                activities.c.lead_id.in_(ids), activities.c.type.in_(types)
            )
        ):
            acts[lid].append({"type": typ, "occurred_at": at})
    return {lid: (views[lid], index_activities(acts[lid])) for lid in ids}
