"""Segment use cases: membership (the journeys' contract), refresh, recompute, preview, listing.

`is_member`, `memberships`, `add_to_list` and `remove_from_list` run in the caller's
transaction; `refresh` (incremental, Python evaluator) and `recompute` (batch, DuckDB) open
their own. Both write only differences, each logged in `segment_changes`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from marketops.errors import MarketopsError, NotFound, Problem
from marketops.segments import membership, watermarks
from marketops.segments.batch import engine_with_store, evaluate_all
from marketops.segments.config import (
    SEGMENTS_FILE,
    ListDef,
    ListRule,
    SegmentDef,
    SegmentsConfig,
    expand,
    walk,
)
from marketops.segments.membership import add_to_list, is_member, memberships, remove_from_list
from marketops.segments.refresh import candidates, refresh_leads
from marketops.store.schema import activities, leads
from marketops.store.tables_segments import segment_members

__all__ = [
    "add_to_list",
    "is_member",
    "memberships",
    "preview",
    "recompute",
    "refresh",
    "remove_from_list",
]
log = logging.getLogger("marketops.segments")


def config(ctx: Any) -> SegmentsConfig:
    return ctx.workspace.extra(SEGMENTS_FILE)


def find(ctx: Any, name: str) -> SegmentDef | ListDef:
    cfg = config(ctx)
    found = cfg.find(name)
    if found is None:
        raise NotFound(
            f"no segment or list named {name!r}",
            [Problem(SEGMENTS_FILE, f"{name!r} is not declared", f"known: {', '.join(cfg.names)}")],
        )
    return found


def find_list(ctx: Any, name: str) -> ListDef:
    return _of_kind(find(ctx, name), ListDef, "a dynamic segment: its rule decides who is in it")


def _dynamic(ctx: Any, name: str) -> SegmentDef:
    return _of_kind(find(ctx, name), SegmentDef, "a static list: it has no rule to evaluate")


def _of_kind(found: Any, kind: type, why: str) -> Any:
    if not isinstance(found, kind):
        wanted = "list" if kind is ListDef else "dynamic segment"
        raise MarketopsError(
            f"{found.name!r} is {why.split(':')[0]}",
            [Problem(found.name, why, f"use a {wanted}'s name")],
        )
    return found


def recompute(ctx: Any, now: datetime, names: Sequence[str] | None = None) -> dict[str, Any]:
    """Evaluate segments over the whole store on DuckDB and write the differences.

    Leads that changed after the store was read are left to the next refresh (the watermarks are
    moved back to the read), so a batch result never overwrites a newer incremental one.
    """
    cfg = config(ctx)
    defs = cfg.segments if names is None else [_dynamic(ctx, n) for n in names]
    with ctx.engine.connect() as conn:
        marks = watermarks.high_marks(conn)
    computed = evaluate_all(ctx.engine, defs, now)
    out: dict[str, Any] = {}
    with ctx.engine.begin() as conn:
        state = watermarks.lock(conn)
        newer = _changed_after(conn, marks)
        for d in defs:
            stored = membership.members_of(conn, d.name)
            new = computed[d.name]
            entered = membership.enter(
                conn, d.name, "segment", sorted(new - stored - newer), now, "recompute"
            )
            exited = membership.leave(conn, d.name, sorted(stored - new - newer), now)
            out[d.name] = {"members": len(new), "entered": entered, "exited": exited}
        merged = dict(marks) if state is None else watermarks.lowest(state, marks)
        prev_now = None if state is None else state.get("now")
        merged["now"] = (
            min(prev_now, now.isoformat(), key=datetime.fromisoformat)
            if prev_now
            else now.isoformat()
        )
        defs_hash = dict((state or {}).get("defs", {}))
        defs_hash.update({d.name: watermarks.definition_hash(d) for d in defs})
        merged["defs"] = defs_hash
        watermarks.save(conn, merged)
    log.info("segments recomputed: %s", {k: v["members"] for k, v in out.items()})
    return out


def refresh(
    ctx: Any, now: datetime, lead_ids: Iterable[str] | None = None, *, chunk: int = 500
) -> int:
    """Keep membership current: `lead_ids`, or (None) whatever changed since the last refresh.
    New or edited segments are recomputed in batch first. Returns how many changes were made."""
    cfg = config(ctx)
    defs = list(cfg.segments)
    if lead_ids is not None:
        return refresh_leads(ctx.engine, defs, lead_ids, now, chunk=chunk)
    from marketops.segments.imports import replay_pending

    changes = replay_pending(ctx, now)
    with ctx.engine.begin() as conn:
        state = watermarks.lock(conn)
        changes += retire_removed(conn, state, {d.name for d in defs}, now)
    stale = [
        d.name
        for d in defs
        if state is None or state.get("defs", {}).get(d.name) != watermarks.definition_hash(d)
    ]
    if stale:
        res = recompute(ctx, now, stale)
        changes += sum(r["entered"] + r["exited"] for r in res.values())
        with ctx.engine.begin() as conn:
            state = watermarks.lock(conn)
    assert state is not None
    if not defs:
        return changes
    with ctx.engine.connect() as conn:
        marks = watermarks.high_marks(conn)
        todo = candidates(conn, state, defs, [lst.name for lst in cfg.lists], now)
    changes += refresh_leads(ctx.engine, defs, todo, now, chunk=chunk)
    with ctx.engine.begin() as conn:
        current = watermarks.lock(conn) or {}
        # another refresh may have moved the marks on meanwhile: never move them back past ours
        merged = {**current, **marks, "now": now.isoformat()}
        watermarks.save(conn, merged)
    if changes:
        log.info("segments refreshed: %d leads evaluated, %d changes", len(todo), changes)
    return changes


def retire_removed(
    conn: Any, state: dict[str, Any] | None, declared: set[str], now: datetime
) -> int:
    """Empty the dynamic segments no longer in segments.yml (each member logged as `exited`) and
    forget their definition hash, so a segment declared again is recomputed from scratch. Lists
    keep their members: they hold imported data that a removed declaration should not destroy."""
    q = (
        select(segment_members.c.segment)
        .where(segment_members.c.kind == "segment", segment_members.c.segment.not_in(declared))
        .distinct()
    )
    gone = set(conn.execute(q).scalars())
    known = dict((state or {}).get("defs", {}))
    gone |= set(known) - declared
    changes = 0
    for name in sorted(gone):
        changes += membership.leave(conn, name, sorted(membership.members_of(conn, name)), now)
        known.pop(name, None)
        log.info("segment %s is no longer declared: its members were removed", name)
    if state is not None and gone:
        watermarks.save(conn, {**state, "defs": known})
        state["defs"] = known
    return changes


def _changed_after(conn: Any, marks: dict[str, Any]) -> set[str]:
    """Leads updated, or with activities, after the marks were read (strictly: no overlap)."""
    q = select(activities.c.lead_id).where(activities.c.id > marks["activity_id"]).distinct()
    out = set(conn.execute(q).scalars())
    if marks["lead_ts"]:
        after = datetime.fromisoformat(marks["lead_ts"])
        out.update(conn.execute(select(leads.c.id).where(leads.c.updated_at > after)).scalars())
    return out


def parse_definition(data: Any, where: str, cfg: SegmentsConfig, node: Any = None) -> SegmentDef:
    """A segment from a YAML/JSON snippet (preview before saving); errors name the field."""
    from pydantic import ValidationError

    if not isinstance(data, dict):
        raise MarketopsError(
            f"{where}: not a segment", [Problem(where, "expected a mapping with `rule`")]
        )
    data = {"name": "preview", **data}
    try:
        d = SegmentDef.model_validate(data)
    except ValidationError as exc:
        from pathlib import Path

        from marketops.workspace.yamlfile import problems_from_validation

        problems = problems_from_validation(Path(where), node, exc)
        raise MarketopsError(f"{where}: not a valid segment", problems) from exc
    lists = {lst.name for lst in cfg.lists}
    try:
        rule = expand(d.rule, {s.name: s for s in cfg.segments}, lists, (d.name,))
    except ValueError as exc:
        raise MarketopsError(f"{where}: {exc}", [Problem(where, str(exc))]) from exc
    d = d.model_copy(update={"rule": rule})
    bad = [n.in_list for n in walk(d.rule) if isinstance(n, ListRule) and n.in_list not in lists]
    if bad:
        raise MarketopsError(
            f"{where}: unknown list(s) {bad}",
            [
                Problem(where, f"in_list {b!r} is not declared", f"known: {sorted(lists)}")
                for b in bad
            ],
        )
    return d


def preview(
    ctx: Any, definition: SegmentDef | ListDef, now: datetime, sample: int = 10
) -> dict[str, Any]:
    """Count and a sample of who would be in a segment now (evaluated, not read from storage)."""
    if isinstance(definition, ListDef):
        with ctx.engine.connect() as conn:
            ids = sorted(membership.members_of(conn, definition.name))
    else:
        with engine_with_store(ctx.engine, [definition]) as con:
            from marketops.segments.sql import members

            expr = members(con, definition, now)
            count = int(expr.count().execute())
            ids = con.to_pyarrow(expr.order_by("id").limit(sample)).column("id").to_pylist()
        return {"name": definition.name, "count": count, "sample": _people(ctx, ids)}
    return {"name": definition.name, "count": len(ids), "sample": _people(ctx, ids[:sample])}


def _people(ctx: Any, ids: list[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    cols = [
        leads.c[c]
        for c in ("id", "email", "first_name", "last_name", "lifecycle_stage", "fit_score")
    ]
    with ctx.engine.connect() as conn:
        rows = {
            r["id"]: dict(r)
            for r in conn.execute(select(*cols).where(leads.c.id.in_(ids))).mappings()
        }
    return [rows[i] for i in ids if i in rows]


def counts(ctx: Any) -> dict[str, int]:
    with ctx.engine.connect() as conn:
        return dict(
            conn.execute(
                select(segment_members.c.segment, func.count()).group_by(segment_members.c.segment)
            ).all()
        )


def list_segments(ctx: Any) -> list[dict[str, Any]]:
    cfg, n = config(ctx), counts(ctx)
    return [
        {
            "name": s.name,
            "kind": "segment" if isinstance(s, SegmentDef) else "list",
            "suppression": s.suppression,
            "members": n.get(s.name, 0),
            "description": s.description,
        }
        for s in [*cfg.segments, *cfg.lists]
    ]


def show(ctx: Any, name: str) -> dict[str, Any]:
    d = find(ctx, name)
    out = {
        "name": d.name,
        "kind": "segment" if isinstance(d, SegmentDef) else "list",
        "suppression": d.suppression,
        "description": d.description,
        "members": counts(ctx).get(d.name, 0),
    }
    if isinstance(d, SegmentDef):
        out["rule"] = d.rule.model_dump(mode="json", by_alias=True, exclude_none=True)
    return out


def members_page(
    ctx: Any, name: str, *, after: str | None = None, limit: int = 100
) -> dict[str, Any]:
    """One page of stored members, ordered by lead id (keyset paging: pass `next` as `after`)."""
    find(ctx, name)
    q = (
        select(segment_members.c.lead_id, segment_members.c.since, segment_members.c.source)
        .where(segment_members.c.segment == name)
        .order_by(segment_members.c.lead_id)
        .limit(limit + 1)
    )
    if after:
        q = q.where(segment_members.c.lead_id > after)
    with ctx.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(q).mappings()]
    more = len(rows) > limit
    rows = rows[:limit]
    return {"name": name, "members": rows, "next": rows[-1]["lead_id"] if more else None}


def edit_list(
    ctx: Any, name: str, lead_ids: Sequence[str], emails: Sequence[str], now: datetime, *, add: bool
) -> dict[str, Any]:
    """Add to / remove from a static list by lead id or email; names what matched no lead."""
    from marketops.pipeline.normalize import normalize_email
    from marketops.segments.imports import match

    find_list(ctx, name)
    normalized = [normalize_email(e) for e in emails]
    with ctx.engine.begin() as conn:
        by_email, known = match(conn, normalized, list(lead_ids))
        ids = [i for i in lead_ids if i in known] + [
            by_email[e] for e in normalized if e in by_email
        ]
        fn = add_to_list if add else remove_from_list
        n = fn(conn, name, ids, now, source="api")
    return {
        "list": name,
        "added" if add else "removed": n,
        "unknown_lead_ids": [i for i in lead_ids if i not in known],
        "unknown_emails": [e for e in emails if normalize_email(e) not in by_email],
    }
