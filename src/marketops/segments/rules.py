"""The pure evaluator: is this lead in this segment at `now`, given its activities?

`evaluate(definition, lead, activities, now)` is what the journey simulator calls for a past
instant; `compile_rule` gives a predicate to run over many leads (the incremental refresh). The
batch path (`segments.sql`) implements the same semantics in SQL; a test checks they agree.

The lead mapping holds the lead's columns and `attributes`, plus what the store links to it:
`identity_size` (1 when not linked), `lists` (names of static lists it is on) and
`opportunities` (mappings with `status` and `amount`).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from marketops.segments.config import (
    ActivityRule,
    ActivitySpec,
    AllRule,
    AnyRule,
    IdentityRule,
    ListDef,
    ListRule,
    NotRule,
    OpportunityRule,
    SegmentDef,
)
from marketops.segments.values import TRUE_WORDS, as_num, as_text, raw_value
from marketops.workspace.conditions import Condition

ActivityIndex = Mapping[str, Sequence[datetime]]  # type -> sorted occurred_at
Predicate = Callable[[Mapping[str, Any], ActivityIndex, datetime], bool]


def index_activities(activities: Sequence[Mapping[str, Any]]) -> dict[str, list[datetime]]:
    """Activities grouped by type, each list sorted by time (what compiled rules read)."""
    out: dict[str, list[datetime]] = {}
    for a in activities:
        out.setdefault(a["type"], []).append(a["occurred_at"])
    for times in out.values():
        times.sort()
    return out


def evaluate(
    definition: SegmentDef | Any,
    lead: Mapping[str, Any],
    activities: Sequence[Mapping[str, Any]],
    now: datetime,
) -> bool:
    """Is `lead` (with its `activities`: mappings of type and occurred_at) a member at `now`?"""
    if isinstance(definition, ListDef):
        return definition.name in (lead.get("lists") or ())
    rule = definition.rule if isinstance(definition, SegmentDef) else definition
    return compile_rule(rule)(lead, index_activities(activities), now)


def compile_rule(rule: Any) -> Predicate:
    if isinstance(rule, AllRule):
        parts = [compile_rule(r) for r in rule.all]
        return lambda lead, acts, now: all(p(lead, acts, now) for p in parts)
    if isinstance(rule, AnyRule):
        parts = [compile_rule(r) for r in rule.any]
        return lambda lead, acts, now: any(p(lead, acts, now) for p in parts)
    if isinstance(rule, NotRule):
        inner = compile_rule(rule.not_)
        return lambda lead, acts, now: not inner(lead, acts, now)
    if isinstance(rule, Condition):
        test = compile_field(rule)
        return lambda lead, _acts, _now: test(raw_value(lead, rule.field))
    if isinstance(rule, ActivityRule):
        return _activity(rule.activity)
    if isinstance(rule, IdentityRule):
        spec = rule.identity

        def identity(lead: Mapping[str, Any], _acts: ActivityIndex, _now: datetime) -> bool:
            size = lead.get("identity_size") or 1
            return (
                (spec.linked is None or (size >= 2) == spec.linked)
                and (spec.min_size is None or size >= spec.min_size)
                and (spec.max_size is None or size <= spec.max_size)
            )

        return identity
    if isinstance(rule, OpportunityRule):
        o = rule.opportunity

        def opportunity(lead: Mapping[str, Any], _acts: ActivityIndex, _now: datetime) -> bool:
            return any(
                (o.status == "any" or opp.get("status") == o.status)
                and (
                    o.min_amount is None
                    or (opp.get("amount") is not None and float(opp["amount"]) >= o.min_amount)
                )
                for opp in lead.get("opportunities") or ()
            )

        return opportunity
    if isinstance(rule, ListRule):
        name = rule.in_list
        return lambda lead, _acts, _now: name in (lead.get("lists") or ())
    raise TypeError(f"not a segment rule: {rule!r}")


def window_start(spec: ActivitySpec, now: datetime) -> datetime | None:
    """Activities count when window_start < occurred_at <= now (None: since ever)."""
    return None if spec.within_days is None else now - timedelta(days=spec.within_days)


def _activity(spec: ActivitySpec) -> Predicate:
    def in_window(times: Sequence[datetime], now: datetime) -> tuple[int, int]:
        start = window_start(spec, now)
        lo = 0 if start is None else bisect_right(times, start)
        return lo, bisect_right(times, now)

    if spec.without_later is not None:
        closing = spec.without_later

        def still_open(_lead: Mapping[str, Any], acts: ActivityIndex, now: datetime) -> bool:
            times = acts.get(spec.type, ())
            lo, hi = in_window(times, now)
            if hi <= lo:
                return False
            opened = times[hi - 1]
            closes = acts.get(closing, ())
            # a close at or after the latest open (and not in the future) closes it
            return bisect_left(closes, opened) >= bisect_right(closes, now)

        return still_open

    lower, upper = spec.lower, spec.at_most

    def counted(_lead: Mapping[str, Any], acts: ActivityIndex, now: datetime) -> bool:
        lo, hi = in_window(acts.get(spec.type, ()), now)
        n = hi - lo
        return n >= lower and (upper is None or n <= upper)

    return counted


def compile_field(c: Condition) -> Callable[[Any], bool]:
    """A test of one value, with the semantics of `segments.values` (the SQL path's too)."""
    if c.equals is not None:
        return _equals(c.equals)
    if c.not_equals is not None:
        eq = _equals(c.not_equals)
        return lambda v: not eq(v)
    if c.in_ is not None:
        tests = [_equals(x) for x in c.in_]
        return lambda v: any(t(v) for t in tests)
    if c.not_in is not None:
        tests = [_equals(x) for x in c.not_in]
        return lambda v: not any(t(v) for t in tests)
    if c.matches is not None:
        rx = re.compile(c.matches)
        return lambda v: (t := as_text(v)) is not None and rx.search(t) is not None
    if c.contains_any is not None:
        rx = re.compile(contains_any_pattern(c.contains_any))
        return lambda v: (t := as_text(v)) is not None and rx.search(t) is not None
    if c.between is not None:
        lo, hi = c.between
        return lambda v: (n := as_num(v)) is not None and lo <= n <= hi
    if c.gte is not None:
        lo = c.gte
        return lambda v: (n := as_num(v)) is not None and n >= lo
    if c.lte is not None:
        hi = c.lte
        return lambda v: (n := as_num(v)) is not None and n <= hi
    if c.exists is not None:
        want = c.exists
        return lambda v: (as_text(v) is not None) == want
    if c.is_true is not None:
        return _is_true
    return lambda v: not _is_true(v)


def contains_any_pattern(words: Sequence[str]) -> str:
    return r"(?i)\b(" + "|".join(re.escape(w) for w in words) + r")\b"


def _is_true(v: Any) -> bool:
    t = as_text(v)
    return t is not None and t.lower() in TRUE_WORDS


def _equals(target: Any) -> Callable[[Any], bool]:
    if isinstance(target, bool):
        word = "true" if target else "false"
        return lambda v: (t := as_text(v)) is not None and t.lower() == word
    if isinstance(target, int | float):
        num = float(target)
        return lambda v: as_num(v) == num
    text = str(target).lower()
    return lambda v: (t := as_text(v)) is not None and t.lower() == text
