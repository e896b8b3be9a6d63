"""Model parameters counted in SQL on the local frame, before Splink sees it.

- the prior λ from precise rules, as Splink's `estimate_probability_two_random_records_match`
  defines it (pairs the rules link, over all pairs, divided by the rules' recall), but counted
  from group sizes with inclusion-exclusion instead of by joining: a rule is a conjunction of
  equalities, so pairs meeting rules A and B are the pairs equal on A's and B's columns;
- m from the pairs the exact rules linked (they are matches): the share of them in each level,
  with the levels rendered by the same SQL Splink scores with.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pyarrow as pa

from marketops.identity.model import MatchModel, level_sql

MAX_PRIOR_RULES = 8  # 2^8 - 1 group-by queries; more rules than this go to Splink's join count


def _q(col: str) -> str:
    return '"' + col.replace('"', '""') + '"'


def linked_pairs(con: Any, table: str, rules: list[list[str]]) -> int:
    """Distinct record pairs equal on every column of at least one rule (nulls never equal)."""
    total = 0
    for k in range(1, len(rules) + 1):
        for subset in combinations(rules, k):
            cols = sorted({c for rule in subset for c in rule})
            where = " AND ".join(f"{_q(c)} IS NOT NULL" for c in cols)
            group = ", ".join(_q(c) for c in cols)
            n = con.execute(
                f"SELECT coalesce(sum(c * (c - 1) // 2), 0) FROM "
                f"(SELECT count(*) AS c FROM {table} WHERE {where} GROUP BY {group})"
            ).fetchone()[0]
            total += (-1) ** (k + 1) * int(n)
    return total


def prior_from_rules(
    con: Any, table: str, rules: list[list[str]], recall: float, records: int
) -> float | None:
    """λ = linked pairs / recall / all pairs; None when it is not a probability."""
    pairs = records * (records - 1) // 2
    if not rules or pairs == 0:
        return None
    observed = linked_pairs(con, table, rules)
    if observed <= 0 or observed > pairs * recall:
        return None
    return observed / recall / pairs


def m_from_exact_links(
    con: Any,
    table: pa.Table,
    det: list[tuple[np.ndarray, np.ndarray, str]],
    model: MatchModel,
    min_pairs: int,
) -> dict[str, list[float]]:
    """m per comparison from the pairs the exact rules linked (`det` holds row positions in
    `table`). The share of those pairs in each level estimates P(level | match). A comparison
    is not learned from pairs its own column linked (email from phone-linked pairs, phone from
    email-linked ones); add-½ smoothing keeps every level possible. Comparisons with fewer than
    `min_pairs` usable pairs are left out. Both sides of each pair are taken from the Arrow
    table by position (no join over all records)."""
    if not det or not any(len(src) for src, _, _ in det):
        return {}
    a = np.concatenate([src for src, _, _ in det]).astype(np.int64)
    b = np.concatenate([dst for _, dst, _ in det]).astype(np.int64)
    cols = sorted(
        {lv[1] for c in model.comparisons for lv in c.levels}
        | {c.spec.column for c in model.comparisons}
    )
    sub = table.select(cols)
    left, right = sub.take(pa.array(a)), sub.take(pa.array(b))
    arrays = {"rule": pa.array(np.concatenate([np.full(len(s), r) for s, _, r in det]))}
    for c in cols:
        arrays[f"{c}_l"], arrays[f"{c}_r"] = left.column(c), right.column(c)
    pairs = pa.table(arrays)
    cases = []
    for i, comp in enumerate(model.comparisons):
        c = comp.spec.column
        whens = [f"WHEN {_q(c + '_l')} IS NULL OR {_q(c + '_r')} IS NULL THEN -1"]
        last = len(comp.levels) - 1
        whens += [f"WHEN {level_sql(lv)} THEN {j}" for j, lv in enumerate(comp.levels[:-1])]
        cases.append(f"CASE {' '.join(whens)} ELSE {last} END AS lv{i}")
    levels = ", ".join(f"lv{i}" for i in range(len(model.comparisons)))
    con.register("mo_labelled_pairs", pairs)
    try:
        rows = con.execute(
            f"SELECT rule, {levels}, count(*) FROM "
            f"(SELECT rule, {', '.join(cases)} FROM mo_labelled_pairs) GROUP BY ALL"
        ).fetchall()
    finally:
        con.unregister("mo_labelled_pairs")
    out: dict[str, list[float]] = {}
    for i, comp in enumerate(model.comparisons):
        own = {comp.spec.column} | (
            {"email", "email_local"} if comp.spec.kind == "email" else set()
        )
        counts = np.zeros(len(comp.levels))
        for row in rows:
            if row[0] not in own and row[1 + i] >= 0:
                counts[row[1 + i]] += row[-1]
        if counts.sum() >= min_pairs:
            smoothed = (counts + 0.5) / (counts.sum() + 0.5 * len(counts))
            out[comp.spec.column] = [float(x) for x in smoothed]
    return out


def with_partners(con: Any, table: str, rules: list[list[str]]) -> pa.Table:
    """The records that share every column of some rule with another record: the only ones a
    blocked pair can contain (the rest need not be joined at all when predicting). Keys are
    compared by 64-bit hash: a collision only keeps a record that could have been left out."""
    conds = []
    for rule in rules:
        where = " AND ".join(f"{_q(c)} IS NOT NULL" for c in rule)
        key = f"hash({', '.join(_q(c) for c in rule)})"
        conds.append(
            f"({where} AND {key} IN (SELECT h FROM (SELECT {key} AS h FROM {table} "
            f"WHERE {where}) GROUP BY h HAVING count(*) > 1))"
        )
    return con.execute(f"SELECT * FROM {table} WHERE {' OR '.join(conds)}").to_arrow_table()
