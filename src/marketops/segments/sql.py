"""Segment rules as Ibis expressions: one generator for the batch path (DuckDB) and any SQL engine.

Input tables (see `segments.load`): `seg_leads` (id, the lead fields of `values.LEAD_FIELDS`,
`identity_size`, and one text column `attr__<name>` per attribute a rule names), `seg_activities`
(lead_id, type, occurred_at as naive UTC), `seg_lists` (list, lead_id) and `seg_opportunities`
(lead_id, status, amount). Behaviour conditions become conditional aggregates over one scan of
the activities; the rule tree becomes a boolean expression over leads left-joined to them.
Semantics follow `segments.rules` exactly (a test runs both on generated data).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from marketops.segments.config import (
    ActivityRule,
    AllRule,
    AnyRule,
    IdentityRule,
    ListRule,
    NotRule,
    OpportunityRule,
    SegmentDef,
    walk,
)
from marketops.segments.rules import contains_any_pattern, window_start
from marketops.segments.values import LEAD_FIELDS, TRUE_WORDS, attribute_name
from marketops.workspace.conditions import Condition

TABLES = ("seg_leads", "seg_activities", "seg_lists", "seg_opportunities")


def attr_column(name: str) -> str:
    return "attr__" + name


def attributes_used(definitions: list[SegmentDef]) -> set[str]:
    """The attributes the rules name (the loader extracts only these)."""
    out = set()
    for d in definitions:
        for node in walk(d.rule):
            if isinstance(node, Condition) and (a := attribute_name(node.field)) is not None:
                out.add(a)
    return out


def activity_types(definitions: list[SegmentDef]) -> set[str]:
    out = set()
    for d in definitions:
        for node in walk(d.rule):
            if isinstance(node, ActivityRule):
                out.add(node.activity.type)
                if node.activity.without_later:
                    out.add(node.activity.without_later)
    return out


def naive_utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return ts.astimezone(UTC).replace(tzinfo=None)


@dataclass
class _Tables:
    leads: ir.Table
    activities: ir.Table
    lists: ir.Table
    opportunities: ir.Table


def tables(con: Any) -> _Tables:
    return _Tables(*(con.table(n) for n in TABLES))


def members(con: Any, definition: SegmentDef, now: datetime) -> ir.Table:
    """An expression for the member ids (column `id`) of one segment at `now`."""
    return member_expr(tables(con), definition, now)


def member_expr(t: _Tables, definition: SegmentDef, now: datetime) -> ir.Table:
    now_lit = ibis.literal(naive_utc(now), type="timestamp")
    behaviour = [n.activity for n in walk(definition.rule) if isinstance(n, ActivityRule)]
    base = t.leads
    aggs: dict[str, ir.Value] = {}
    if behaviour:
        a = t.activities
        types = sorted({s.type for s in behaviour} | {s.without_later for s in behaviour} - {None})
        cond = a.type.isin(types) & (a.occurred_at <= now_lit)
        starts = [window_start(s, now) for s in behaviour]
        if all(s is not None for s in starts) and not any(s.without_later for s in behaviour):
            cond &= a.occurred_at > ibis.literal(naive_utc(min(starts)), type="timestamp")
        a = a.filter(cond)
        for i, spec in enumerate(behaviour):
            hit = a.type == spec.type
            if (start := window_start(spec, now)) is not None:
                hit &= a.occurred_at > ibis.literal(naive_utc(start), type="timestamp")
            if spec.without_later is None:
                aggs[f"n{i}"] = a.lead_id.count(where=hit)
            else:
                aggs[f"open{i}"] = a.occurred_at.max(where=hit)
                aggs[f"close{i}"] = a.occurred_at.max(where=a.type == spec.without_later)
        agg = a.group_by(a.lead_id.name("_lid")).aggregate(**aggs)
        base = base.left_join(agg, base.id == agg._lid)
    counter = iter(range(len(behaviour)))
    pred = _node(definition.rule, base, t, counter)
    return base.filter(pred).select("id")


def _node(rule: Any, j: ir.Table, t: _Tables, counter: Any) -> ir.BooleanValue:
    if isinstance(rule, AllRule):
        parts = [_node(r, j, t, counter) for r in rule.all]
        out = parts[0]
        for p in parts[1:]:
            out &= p
        return out
    if isinstance(rule, AnyRule):
        parts = [_node(r, j, t, counter) for r in rule.any]
        out = parts[0]
        for p in parts[1:]:
            out |= p
        return out
    if isinstance(rule, NotRule):
        return ~_node(rule.not_, j, t, counter)
    if isinstance(rule, Condition):
        return _field(rule, j).fill_null(False)
    if isinstance(rule, ActivityRule):
        i, spec = next(counter), rule.activity
        if spec.without_later is None:
            n = j[f"n{i}"].fill_null(0)
            out = n >= spec.lower
            if spec.at_most is not None:
                out &= n <= spec.at_most
            return out
        opened, closed = j[f"open{i}"], j[f"close{i}"]
        return (opened.notnull() & (closed.isnull() | (closed < opened))).fill_null(False)
    if isinstance(rule, IdentityRule):
        s, spec = j.identity_size.fill_null(1), rule.identity
        out = ibis.literal(True)
        if spec.linked is not None:
            out &= (s >= 2) if spec.linked else (s < 2)
        if spec.min_size is not None:
            out &= s >= spec.min_size
        if spec.max_size is not None:
            out &= s <= spec.max_size
        return out
    if isinstance(rule, OpportunityRule):
        o, spec = t.opportunities, rule.opportunity
        cond = ibis.literal(True) if spec.status == "any" else o.status == spec.status
        if spec.min_amount is not None:
            cond &= o.amount >= spec.min_amount
        return j.id.isin(o.filter(cond).lead_id)
    if isinstance(rule, ListRule):
        lists = t.lists
        return j.id.isin(lists.filter(lists.list == rule.in_list).lead_id)
    raise TypeError(f"not a segment rule: {rule!r}")


def _text_num(field: str, j: ir.Table) -> tuple[ir.StringValue, ir.FloatingValue]:
    attr = attribute_name(field)
    if attr is not None:
        text = j[attr_column(attr)]
        return text, text.strip().try_cast("float64")
    col, kind = j[field], LEAD_FIELDS[field]
    if kind == "string":
        text = col.nullif("")
        return text, text.strip().try_cast("float64")
    if kind == "boolean":
        return col.ifelse("true", "false"), ibis.null("float64")
    return col.cast("string"), col.cast("float64")


def _field(c: Condition, j: ir.Table) -> ir.BooleanValue:
    text, num = _text_num(c.field, j)

    def equals(target: Any) -> ir.BooleanValue:
        if isinstance(target, bool):
            return text.lower() == ("true" if target else "false")
        if isinstance(target, int | float):
            return num == float(target)
        return text.lower() == str(target).lower()

    def any_of(targets: list[Any]) -> ir.BooleanValue:
        out = equals(targets[0]).fill_null(False)
        for x in targets[1:]:
            out |= equals(x).fill_null(False)
        return out

    if c.equals is not None:
        return equals(c.equals)
    if c.not_equals is not None:
        return ~equals(c.not_equals).fill_null(False)
    if c.in_ is not None:
        return any_of(c.in_) if c.in_ else ibis.literal(False)
    if c.not_in is not None:
        return ~any_of(c.not_in) if c.not_in else ibis.literal(True)
    if c.matches is not None:
        return text.re_search(c.matches)
    if c.contains_any is not None:
        return text.re_search(contains_any_pattern(c.contains_any))
    if c.between is not None:
        lo, hi = c.between
        return (num >= lo) & (num <= hi)
    if c.gte is not None:
        return num >= c.gte
    if c.lte is not None:
        return num <= c.lte
    if c.exists is not None:
        return text.notnull() if c.exists else text.isnull()
    truthy = text.lower().isin(list(TRUE_WORDS)).fill_null(False)
    return truthy if c.is_true is not None else ~truthy


def to_sql(definition: SegmentDef, now: datetime, dialect: str = "duckdb") -> str:
    """The SQL a segment compiles to (for `segment show --sql`), on empty typed tables."""
    from marketops.segments.load import empty_tables

    t = _Tables(
        *(
            ibis.table(schema, name=name)
            for name, schema in empty_tables(attributes_used([definition])).items()
        )
    )
    return ibis.to_sql(member_expr(t, definition, now), dialect=dialect)
