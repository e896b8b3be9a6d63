"""The Fellegi-Sunter match model: comparison levels, their m/u probabilities, pair scoring.

Each comparison is written once as an ordered list of levels and rendered two ways: SQL for
Splink (training and batch prediction on DuckDB) and a Python twin for real-time scoring
(rapidfuzz's Jaro-Winkler, which matches DuckDB's `jaro_winkler_similarity`). A pair's match
weight is `log2(λ/(1-λ)) + Σ log2(m/u)` over the level each comparison falls in, and its
probability `2^w / (1 + 2^w)` (Fellegi & Sunter 1969; Splink's documented formulas).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from rapidfuzz.distance import JaroWinkler

from marketops.identity.config import ComparisonSpec, IdentityConfig

# A level is (kind, column, threshold): kinds exact, nickname, jw, else.
Level = tuple[str, str, float]


def levels_of(spec: ComparisonSpec) -> list[Level]:
    """Non-null levels, best first; the last is always `else`."""
    c = spec.column
    if spec.kind == "exact":
        out: list[Level] = [("exact", c, 1.0)]
    elif spec.kind == "email":
        out = [("exact", c, 1.0), ("exact", "email_local", 1.0)]
        out += [("jw", "email_local", t) for t in spec.thresholds]
    else:
        out = [("exact", c, 1.0)]
        if spec.kind == "name":
            out.append(("nickname", "first_names", 1.0))
        out += [("jw", c, t) for t in spec.thresholds]
    out.append(("else", c, 0.0))
    return out


Dialect = Literal["duckdb", "spark"]


def level_sql(level: Level, dialect: Dialect = "duckdb") -> str:
    """A level's condition over `<col>_l` / `<col>_r`, in DuckDB's or Spark's SQL (Splink
    registers Spark's `jaro_winkler` from its similarity jar)."""
    kind, col, t = level
    left, right = f"`{col}_l`", f"`{col}_r`"
    if dialect == "duckdb":
        left, right = f'"{col}_l"', f'"{col}_r"'
    if kind == "exact":
        return f"{left} = {right}"
    if kind == "nickname":
        if dialect == "spark":
            return f"size(array_intersect({left}, {right})) > 0"
        return f"len(list_intersect({left}, {right})) > 0"
    if kind == "jw":
        fn = "jaro_winkler" if dialect == "spark" else "jaro_winkler_similarity"
        return f"{fn}({left}, {right}) >= {t}"
    return "ELSE"


def splink_comparison(spec: ComparisonSpec, dialect: Dialect = "duckdb") -> dict[str, Any]:
    """The comparison as a Splink settings dict (SQL of the Splink backend that runs it)."""
    c = spec.column
    q = "`" if dialect == "spark" else '"'
    levels: list[dict[str, Any]] = [
        {
            "sql_condition": f"{q}{c}_l{q} IS NULL OR {q}{c}_r{q} IS NULL",
            "label_for_charts": "null",
            "is_null_level": True,
        }
    ]
    for lv in levels_of(spec):
        label = lv[0] if lv[0] != "jw" else f"jaro_winkler >= {lv[2]}"
        levels.append(
            {"sql_condition": level_sql(lv, dialect), "label_for_charts": f"{lv[1]} {label}"}
        )
    return {"output_column_name": c, "comparison_levels": levels}


def _holds(level: Level, left: Mapping[str, Any], right: Mapping[str, Any]) -> bool:
    kind, col, t = level
    a, b = left.get(col), right.get(col)
    if kind == "else":
        return True
    if a is None or b is None:
        return False
    if kind == "exact":
        return a == b
    if kind == "nickname":
        return bool(set(a) & set(b))
    return JaroWinkler.similarity(a, b) >= t


@dataclass
class CompiledComparison:
    spec: ComparisonSpec
    levels: list[Level]
    m: list[float | None]
    u: list[float | None]

    def level_of(self, left: Mapping[str, Any], right: Mapping[str, Any]) -> int:
        """Index of the first level that holds; -1 for the null level (no evidence)."""
        c = self.spec.column
        if left.get(c) is None or right.get(c) is None:
            return -1
        for i, lv in enumerate(self.levels):
            if _holds(lv, left, right):
                return i
        return len(self.levels) - 1

    def log2_bf(self, level: int) -> float:
        if level < 0:
            return 0.0
        m, u = self.m[level], self.u[level]
        if not m or not u:
            return 0.0
        return math.log2(m / u)


@dataclass
class MatchModel:
    prior: float  # λ: probability that two random records match
    comparisons: list[CompiledComparison] = field(default_factory=list)
    source: str = "default"  # "default" (hand-set) or "splink" (trained)

    def weight(self, left: Mapping[str, Any], right: Mapping[str, Any]) -> float:
        w = math.log2(self.prior / (1 - self.prior))
        for c in self.comparisons:
            w += c.log2_bf(c.level_of(left, right))
        return w

    def score(self, left: Mapping[str, Any], right: Mapping[str, Any]) -> tuple[float, float]:
        """(match weight, match probability) of a pair of feature dicts."""
        w = self.weight(left, right)
        return w, probability(w)

    def as_json(self) -> dict[str, Any]:
        return {
            "prior": self.prior,
            "source": self.source,
            "comparisons": [
                {"spec": c.spec.model_dump(), "m": c.m, "u": c.u} for c in self.comparisons
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MatchModel:
        comps = []
        for c in data["comparisons"]:
            spec = ComparisonSpec.model_validate(c["spec"])
            comps.append(CompiledComparison(spec, levels_of(spec), list(c["m"]), list(c["u"])))
        return cls(float(data["prior"]), comps, data.get("source", "default"))


def probability(weight: float) -> float:
    if weight > 60:
        return 1.0
    bf = 2.0**weight
    return bf / (1 + bf)


def _default_mu(level: Level, spec: ComparisonSpec, n: int, i: int) -> tuple[float, float]:
    """Hand-set m/u used until a batch run trains the model: agreement is strong evidence."""
    kind = level[0]
    if kind == "else":
        return 0.05, 0.95
    if kind == "exact":
        if level[1] == spec.column:
            return (0.88, 0.002) if spec.kind != "exact" else (0.9, 0.01)
        return 0.04, 0.0005  # email local part
    if kind == "nickname":
        return 0.03, 0.002
    return 0.02, 0.01 * (i + 1)


def default_model(cfg: IdentityConfig) -> MatchModel:
    comps = []
    for spec in cfg.comparisons:
        levels = levels_of(spec)
        mu = [_default_mu(lv, spec, len(levels), i) for i, lv in enumerate(levels)]
        comps.append(
            CompiledComparison(spec, levels, [float(m) for m, _ in mu], [float(u) for _, u in mu])
        )
    return MatchModel(1e-4, comps, "default")


def from_splink(
    settings: Mapping[str, Any], cfg: IdentityConfig, fallback: MatchModel | None = None
) -> MatchModel:
    """Our model from Splink's trained settings (`linker.misc.save_model_to_json()`).

    Levels Splink could not train (exact email or phone never differ between the records it
    sees, because the exact rules ran first) keep the fallback's values.
    """
    fallback = fallback or default_model(cfg)
    by_name = {c["output_column_name"]: c for c in settings["comparisons"]}
    comps = []
    for spec, fb in zip(cfg.comparisons, fallback.comparisons, strict=True):
        raw = by_name[spec.column]["comparison_levels"]
        levels = [lv for lv in raw if not lv.get("is_null_level")]
        m = [lv.get("m_probability") for lv in levels]
        u = [lv.get("u_probability") for lv in levels]
        if any(x is None for x in m + u):
            m, u = (
                [a or b for a, b in zip(m, fb.m, strict=True)],
                [a or b for a, b in zip(u, fb.u, strict=True)],
            )
        comps.append(CompiledComparison(spec, levels_of(spec), m, u))
    return MatchModel(float(settings["probability_two_random_records_match"]), comps, "splink")
