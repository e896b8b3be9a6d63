"""The same ruleset as one SQL CASE expression (DuckDB dialect), to classify inside the engine.

Analytics over event tables should not pull millions of rows into Python to label them; this
renders the compiled rules (same missing-value reading, same case-insensitivity) as SQL. It is
tested against the Python classifier on every rule's examples.
"""

from __future__ import annotations

from marketops.taxonomy.channels import Ruleset, default_ruleset
from marketops.taxonomy.ruleset import When


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _Sql:
    def __init__(self, ruleset: Ruleset, cols: dict[str, str]):
        self.r = ruleset.resolved
        self.cols = cols

    def expr(self, w: When) -> str:
        if w.all is not None:
            return "(" + " AND ".join(self.expr(x) for x in w.all) + ")"
        if w.any is not None:
            return "(" + " OR ".join(self.expr(x) for x in w.any) + ")"
        if w.not_ is not None:
            return f"(NOT {self.expr(w.not_)})"
        v = self.cols[w.field or "source"]
        if w.equals is not None:
            return f"{v} = {_lit(w.equals.lower())}"
        if w.in_ is not None or w.in_list is not None:
            values = self.r.lists[w.in_list] if w.in_list is not None else w.in_ or []
            items = sorted({x.lower() for x in values})
            return f"{v} IN ({', '.join(map(_lit, items))})" if items else "FALSE"
        if w.matches is not None:
            pattern = w.matches
            if pattern.startswith("$"):
                pattern = self.r.definitions[pattern[1:]]
            return f"regexp_matches({v}, {_lit(pattern)}, 'i')"
        if w.contains is not None:
            parts = [w.contains] if isinstance(w.contains, str) else w.contains
            return "(" + " OR ".join(f"strpos({v}, {_lit(p.lower())}) > 0" for p in parts) + ")"
        fn, arg = ("left", w.starts_with) if w.starts_with is not None else ("right", w.ends_with)
        parts = [arg] if isinstance(arg, str) else list(arg or [])
        return "(" + " OR ".join(f"{fn}({v}, {len(p)}) = {_lit(p.lower())}" for p in parts) + ")"


def _prepared(source: str, medium: str, campaign: str | None) -> tuple[str, str, str]:
    """SQL for the lower-cased fields, missing values read as in the Python classifier."""
    src = f"nullif({_ident(source)}, '')"
    med = f"nullif({_ident(medium)}, '')"
    s = f"lower(coalesce({src}, CASE WHEN {med} IS NULL THEN '(direct)' ELSE '(not set)' END))"
    m = f"coalesce(lower({med}), CASE WHEN {s} = '(direct)' THEN '(none)' ELSE '(not set)' END)"
    c = (
        f"coalesce(lower(nullif({_ident(campaign)}, '')), '(not set)')"
        if campaign
        else "'(not set)'"
    )
    return s, m, c


def _case(rs: Ruleset, cols: dict[str, str]) -> str:
    gen = _Sql(rs, cols)
    whens = [
        f"WHEN {gen.expr(rule.when)} THEN {_lit(rule.channel or '')}"
        for rule in rs.resolved.rules
        if rule.when is not None
    ]
    return f"CASE {' '.join(whens)} ELSE {_lit(rs.resolved.default_channel)} END"


def channel_case_sql(
    ruleset: Ruleset | None = None,
    *,
    source: str = "source",
    medium: str = "medium",
    campaign: str | None = "campaign",
) -> str:
    """A SQL expression giving the channel of a row with these columns (DuckDB dialect).

    Self-contained (usable in any SELECT), but it lower-cases the fields at every rule; over
    big tables prefer `classify_query`, which prepares them once per row.
    """
    rs = ruleset or default_ruleset()
    s, m, c = _prepared(source, medium, campaign)
    return _case(rs, {"source": s, "medium": m, "campaign": c})


def classify_query(
    relation: str,
    ruleset: Ruleset | None = None,
    *,
    source: str = "source",
    medium: str = "medium",
    campaign: str | None = "campaign",
    channel_column: str = "channel",
) -> str:
    """`SELECT *, <channel> FROM relation` (a table name or a parenthesised query), DuckDB."""
    rs = ruleset or default_ruleset()
    s, m, c = _prepared(source, medium, campaign)
    hidden = ("__mo_s", "__mo_m", "__mo_c")
    case = _case(rs, dict(zip(("source", "medium", "campaign"), hidden, strict=True)))
    return (
        f"SELECT * EXCLUDE ({', '.join(hidden)}), {case} AS {_ident(channel_column)} "
        f"FROM (SELECT *, {s} AS __mo_s, {m} AS __mo_m, {c} AS __mo_c FROM {relation})"
    )
