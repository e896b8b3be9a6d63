"""The health checks as Ibis expressions: one pass over the table, one row of counts out.

Every check is a boolean column expression; the plan sums them in a single aggregate so that
DuckDB (or PostgreSQL, Spark) scans the data once whatever the number of fields and rules.
Scores are computed from these integer counts in `score`, so engines agree exactly.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from marketops.analytics.health import patterns as rx
from marketops.analytics.health.config import ConsistencyRule
from marketops.analytics.health.spec import HealthSpec
from marketops.workspace.conditions import Condition
from marketops.workspace.contract import FieldRule

UTC_TS = dt.Timestamp(timezone="UTC")
IDENTITY_COLUMN = "identity_id"  # the identity cluster of a record, when resolution has run


@dataclass
class FieldPlan:
    name: str
    key: str  # column prefix in the counts row
    required: bool
    unique: bool
    status: str  # checked | missing (no such column) | outside (kept outside the scored table)
    checks: list[str] = field(default_factory=list)


@dataclass
class RulePlan:
    name: str
    key: str
    status: str  # checked | skipped
    note: str | None = None


@dataclass
class Plan:
    expr: Any  # an Ibis table expression of exactly one row
    fields: list[FieldPlan]
    rules: list[RulePlan]
    ts_field: str | None
    max_age_days: float | None
    notes: list[str] = field(default_factory=list)


def clean(col: Any) -> Any:
    """Trimmed text with blanks as NULL: what the pipeline treats as 'not given'.

    Applied once to every string column in a first projection, so the checks after it read
    clean values instead of trimming again in each of their expressions.
    """
    # a cheap guard: trim is Unicode-aware and 5-10x slower than looking at both ends
    edged = (col == "") | col.ascii_str().isin([ord(w) for w in rx.WHITESPACE])
    for w in rx.WHITESPACE:
        edged = edged | col.endswith(w)
    return ibis.ifelse(edged, col.strip().nullif(""), col)


def _text(col: Any) -> Any:
    """A cleaned column as text (string columns were cleaned by the first projection)."""
    return col if col.type().is_string() else col.cast("string")


def _present(col: Any) -> Any:
    return col.notnull()


def _number(col: Any) -> Any:
    if col.type().is_numeric():
        return col.cast("float64")
    s = _text(col)
    return ibis.ifelse(
        s.re_search(rx.NUMBER), s.replace(",", "").try_cast("float64"), ibis.null("float64")
    )


def _timestamp(col: Any) -> Any:
    t = col.type()
    if t.is_timestamp():
        return col if t.timezone else col.cast(UTC_TS)
    if t.is_date():
        return col.cast(UTC_TS)
    s = _text(col)
    return ibis.ifelse(s.re_search(rx.ISO_DATETIME), s.try_cast(UTC_TS), ibis.null(UTC_TS))


def _type_ok(rule: FieldRule, col: Any) -> Any | None:
    t, lt = col.type(), rule.logical_type
    if lt == "integer":
        if t.is_integer():
            return None
        if t.is_floating() or t.is_decimal():
            return col == col.floor()
        return _text(col).re_search(rx.INTEGER) if t.is_string() else ibis.literal(False)
    if lt == "number":
        if t.is_numeric():
            return None
        return _text(col).re_search(rx.NUMBER) if t.is_string() else ibis.literal(False)
    if lt == "boolean":
        if t.is_boolean():
            return None
        if t.is_integer():
            return col.isin([0, 1])
        return _text(col).lower().isin(rx.BOOLEANS)
    if lt in ("date", "timestamp"):
        if t.is_temporal():
            return None
        return _timestamp(col).notnull() if t.is_string() else ibis.literal(False)
    return None


def field_checks(
    rule: FieldRule, col: Any, table: Any, country_cols: dict[str, str]
) -> list[tuple[str, Any]]:
    """(check name, ok-expression) for one contract field; evaluated only where a value is present."""
    out: list[tuple[str, Any]] = []
    s = _text(col)
    if (ok := _type_ok(rule, col)) is not None:
        out.append(("type", ok))
    if rule.min_length is not None:
        out.append(("minLength", s.length() >= rule.min_length))
    if rule.max_length is not None:
        out.append(("maxLength", s.length() <= rule.max_length))
    if rule.logical_type in ("integer", "number") and (
        rule.minimum is not None or rule.maximum is not None
    ):
        n = _number(col)
        if rule.minimum is not None:
            out.append(("minimum", n.isnull() | (n >= rule.minimum)))  # NULL: a type failure
        if rule.maximum is not None:
            out.append(("maximum", n.isnull() | (n <= rule.maximum)))
    if rule.valid_values is not None:
        out.append(("validValues", s.isin(sorted(rule.valid_values))))
    if rule.pattern is not None:
        out.append(("pattern", s.re_search(rule.pattern.pattern)))
    if rule.fmt == "email":
        at = s.find("@")  # 0-based; the pattern guarantees exactly one
        out.append(
            (
                "email",
                (s.length() <= 254)
                & s.re_search(rx.EMAIL)
                & (at <= rx.EMAIL_LOCAL_MAX)
                & ~s.re_search(rx.EMAIL_REJECT),
            )
        )
    elif rule.fmt == "country":
        out.append(("country", table[country_cols[rule.name] + "_cc"].notnull()))
    elif rule.fmt == "url":
        out.append(("url", s.re_search(rx.URL)))
    elif rule.fmt == "date":
        out.append(("date", s.re_search(rx.ISO_DATE)))
    if rule.fmt == "phone" or rule.name == "phone":
        if "phone_e164" in table.columns and rule.name == "phone":
            # the store: the normalizer's phonenumbers verdict is the phone_e164 column
            e164 = _text(table.phone_e164)
            out.append(("e164", e164.notnull() & e164.re_search(rx.E164)))
        else:
            out.append(("e164", s.re_search(rx.PHONE_SHAPE)))
    return out


def _scalar_of(col: Any, rule: FieldRule | None) -> Any:
    """A column as the type its contract field declares (files arrive as text)."""
    lt = rule.logical_type if rule else None
    if lt in ("date", "timestamp") or col.type().is_temporal():
        return _timestamp(col)
    if lt in ("integer", "number") or col.type().is_numeric():
        return _number(col)
    return _text(col) if col.type().is_string() else col


def condition(c: Condition, col: Any) -> Any:
    """A workspace `Condition` (the scoring/routing vocabulary) as an Ibis boolean, NULL-safe."""
    s = _text(col) if not col.type().is_boolean() else col.cast("string").lower()
    if c.exists is not None:
        return _present(col) if c.exists else ~_present(col)
    if c.equals is not None:
        return (s == str(c.equals)).fill_null(False)
    if c.not_equals is not None:
        return (s != str(c.not_equals)).fill_null(True)
    if c.in_ is not None:
        return s.isin([str(v) for v in c.in_]).fill_null(False)
    if c.not_in is not None:
        return (~s.isin([str(v) for v in c.not_in])).fill_null(True)
    if c.matches is not None:
        return s.re_search(c.matches).fill_null(False)
    if c.contains_any is not None:
        words = "|".join(_re_escape(w.lower()) for w in c.contains_any)
        w = rx.WORD_CHARS
        return s.lower().re_search(f"(^|[^{w}])({words})([^{w}]|$)").fill_null(False)
    if c.is_true is not None or c.is_false is not None:
        truthy = col if col.type().is_boolean() else _text(col).lower().isin(rx.TRUE_WORDS)
        want = c.is_true if c.is_true is not None else not c.is_false
        return (truthy if want else ~truthy).fill_null(False)
    n = _number(col)
    if c.gte is not None:
        return (n >= c.gte).fill_null(False)
    if c.lte is not None:
        return (n <= c.lte).fill_null(False)
    if c.between is not None:
        return n.between(*c.between).fill_null(False)
    raise ValueError(f"unsupported condition {c.describe()}")


def _re_escape(text: str) -> str:
    return "".join("\\" + ch if not ch.isalnum() and ch != " " else ch for ch in text)


_OPS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
}


def rule_exprs(
    r: ConsistencyRule, table: Any, spec: HealthSpec, country_cols: dict[str, str]
) -> tuple[Any, Any]:
    """(applies, holds) for one consistency rule; violations are rows where applies & ~holds."""
    applies = ibis.literal(True)
    for c in r.when:
        applies = applies & condition(c, table[c.field])
    holds = ibis.literal(True)
    for c in r.then:
        holds = holds & condition(c, table[c.field])
    if r.compare is not None:
        left, right = (
            _scalar_of(table[n], spec_field(spec, n)) for n in (r.compare.left, r.compare.right)
        )
        applies = applies & left.notnull() & right.notnull()
        holds = holds & _OPS[r.compare.op](left, right)
    if r.check == "phone_country":
        digits = table[phone_digits_column(r.phone)]
        dial = table[country_cols[r.country] + "_dial"]
        applies = applies & digits.startswith("+") & dial.notnull()
        holds = digits.startswith("+" + dial)
    return applies.fill_null(False), holds.fill_null(False)


def phone_digits_column(phone: str) -> str:
    return f"__{phone}_digits"


def phone_digits(col: Any) -> Any:
    """The phone without separators, for numbers written with a +calling code (the only ones
    that can contradict the country); computed once, before the checks."""
    s = _text(col)
    return ibis.ifelse(s.contains("+"), s.translate(rx.PHONE_SEPARATORS, ""), ibis.null("string"))


def spec_field(spec: HealthSpec, name: str) -> FieldRule | None:
    return next((f for f in spec.fields if f.name == name), None)


def _join_countries(t: Any, columns: list[str]) -> tuple[Any, dict[str, str]]:
    """Left-join the country lookup once per country column: gives the ISO code and calling code."""
    lookup = rx.country_lookup()
    keys = sorted(lookup)
    prefixes: dict[str, str] = {}
    for i, name in enumerate(columns):
        p = f"__country{i}"
        lk = ibis.memtable(
            {
                p + "_key": keys,
                p + "_cc": [lookup[k][0] for k in keys],
                p + "_dial": [lookup[k][1] for k in keys],
            },
            schema={p + "_key": "string", p + "_cc": "string", p + "_dial": "string"},
        )
        t = t.left_join(lk, _text(t[name]).lower() == lk[p + "_key"]).drop(p + "_key")
        prefixes[name] = p
    return t, prefixes


def _count(flag: Any) -> Any:
    """Rows where a non-NULL flag holds: SUM(CAST(flag AS INT)), 2.5x faster than SUM(CASE)."""
    return flag.sum().fill_null(0)


def build_plan(
    t: Any,
    spec: HealthSpec,
    *,
    now: datetime,
    ts_field: str | None,
    max_age_days: float | None = None,
    outside: frozenset[str] = frozenset(),
    con: Any = None,
) -> Plan:
    """Compile every check for `t` into one aggregate; `outside` are contract fields the source
    keeps elsewhere (the store keeps activity/consent outside the leads table); `con`, the
    backend of `t`, lets DuckDB keep the cleaned values in a view."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    cols = set(t.columns)
    notes: list[str] = []

    rule_plans: list[RulePlan] = []
    active_rules: list[tuple[RulePlan, ConsistencyRule]] = []
    for i, r in enumerate(spec.rules):
        missing = sorted(r.fields() - cols)
        rp = RulePlan(r.name, f"r{i}", "checked" if not missing else "skipped")
        if missing:
            rp.note = f"needs column(s) {', '.join(missing)} not in the data"
            if not spec.rules_declared:
                continue  # a default rule that does not apply here is not worth a line
        else:
            active_rules.append((rp, r))
        rule_plans.append(rp)

    country_cols = sorted(
        {f.name for f in spec.fields if f.fmt == "country" and f.name in cols}
        | {r.country for _, r in active_rules if r.check == "phone_country"}
    )
    # 1. clean every string column once; 2. join the country lookups; 3. one boolean column
    # per check; 4. one aggregate of sums over those booleans.
    t = t.mutate(**{c: clean(t[c]) for c in t.columns if t[c].type().is_string()})
    prefixes: dict[str, str] = {}
    if country_cols:
        t, prefixes = _join_countries(t, country_cols)
    phones = {r.phone for _, r in active_rules if r.check == "phone_country"}
    if phones:
        t = t.mutate(**{phone_digits_column(p): phone_digits(t[p]) for p in sorted(phones)})
    if con is not None and con.name == "duckdb":
        # Ibis would inline the cleaning into every check, and DuckDB does not share common
        # subexpressions inside CASE/COALESCE: behind a view each value is cleaned once (3x).
        t = con.create_view(f"__health_clean_{uuid.uuid4().hex[:12]}", t, overwrite=True)

    flags: dict[str, Any] = {}
    aggs: dict[str, Any] = {}
    field_plans: list[FieldPlan] = []
    for i, rule in enumerate(spec.fields):
        key = f"f{i}"
        if rule.name not in cols:
            status = "outside" if rule.name in outside else "missing"
            field_plans.append(FieldPlan(rule.name, key, rule.required, rule.unique, status))
            continue
        col = t[rule.name]
        checks = field_checks(rule, col, t, prefixes)
        fp = FieldPlan(
            rule.name, key, rule.required, rule.unique, "checked", [c for c, _ in checks]
        )
        field_plans.append(fp)
        flags[f"{key}_p"] = _present(col)
        for j, (_, ok) in enumerate(checks):
            flags[f"{key}_k{j}"] = ok  # never NULL where a value is present
        if rule.unique:
            s = _text(col)
            flags[f"{key}_u"] = s.lower() if rule.fmt == "email" else s

    if IDENTITY_COLUMN in cols:
        flags["__identity"] = t[IDENTITY_COLUMN]

    for rp, r in active_rules:
        applies, holds = rule_exprs(r, t, spec, prefixes)
        flags[f"{rp.key}_a"] = applies
        flags[f"{rp.key}_h"] = holds

    if ts_field is not None and ts_field in cols:
        ts = _scalar_of(t[ts_field], spec_field(spec, ts_field))
        if not ts.type().is_timestamp():
            ts = _timestamp(t[ts_field])
        flags["__age"] = (
            ibis.literal(now.timestamp()) - ts.epoch_seconds().cast("float64")
        ) / 86400.0
    elif ts_field is not None:
        notes.append(f"timeliness: column {ts_field!r} not in the data")
        ts_field = None

    f = t.select(**flags) if flags else t.select(__one=ibis.literal(1))
    aggs["rows"] = f.count()
    for fp in field_plans:
        if fp.status != "checked":
            continue
        present = f[f"{fp.key}_p"]
        aggs[f"{fp.key}_present"] = _count(present)
        if fp.checks:
            all_ok = ibis.literal(True)
            for j in range(len(fp.checks)):
                ok = f[f"{fp.key}_k{j}"]
                aggs[f"{fp.key}_fail{j}"] = _count(present & ~ok)
                all_ok = all_ok & ok
            aggs[f"{fp.key}_invalid"] = _count(present & ~all_ok)
        if fp.unique:
            aggs[f"{fp.key}_distinct"] = f[f"{fp.key}_u"].nunique()
    if "__identity" in flags:
        aggs["identity_singletons"] = _count(f["__identity"].isnull())
        aggs["identity_distinct"] = f["__identity"].nunique()
    for rp, _r in active_rules:
        applies = f[f"{rp.key}_a"]
        aggs[f"{rp.key}_applies"] = _count(applies)
        aggs[f"{rp.key}_violations"] = _count(applies & ~f[f"{rp.key}_h"])
    if ts_field is not None:
        age = f["__age"]
        aggs["ts_n"] = _count(age.notnull())
        aggs["ts_newest_age"] = age.min()
        aggs["ts_median_age"] = age.median()
        aggs["ts_p90_age"] = age.quantile(0.9)
        aggs["ts_future"] = _count(age < 0)
        if max_age_days is not None:
            aggs["ts_within"] = _count(age <= max_age_days)
    return Plan(f.aggregate(**aggs), field_plans, rule_plans, ts_field, max_age_days, notes)


def evaluate(plan: Plan) -> dict[str, Any]:
    """Run the one aggregate; counts come back as plain ints/floats."""
    row = plan.expr.to_pyarrow().to_pylist()[0]
    return dict(row)
