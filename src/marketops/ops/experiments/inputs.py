"""Reading experiment results: per-variant counts or per-user rows, from CSV, JSON or records.

Counts (one row per variant and metric): `variant, metric, users, sum[, sum_squares]`. Without
`sum_squares` the metric is a proportion and `sum` is the number of converted users (`conversions`
is accepted as a synonym); with it the metric is a mean (revenue, pages...).

Per-user rows: a `variant` column, an optional `user_id` column, and one numeric column per metric.
A metric whose values are all 0 or 1 is a proportion, anything else a mean.

Every bad row is reported with its line and field; nothing is skipped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from marketops.errors import MarketopsError, Problem
from marketops.ops.experiments.statistics import SampleStat

MAX_PROBLEMS = 50  # a file with a million bad rows should not print a million lines
COUNT_COLUMNS = {"variant", "metric", "users"}


@dataclass
class ExperimentData:
    """Users per variant (insertion order = file order) and each metric's statistic per variant."""

    users: dict[str, int]
    stats: dict[str, dict[str, SampleStat]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)

    @property
    def variants(self) -> list[str]:
        return list(self.users)

    @property
    def metrics(self) -> list[str]:
        return list(self.stats)


class _Problems:
    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.count = 0

    def add(self, where: str, message: str, hint: str = "") -> None:
        self.count += 1
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem(where, message, hint))

    def raise_if_any(self, source: str) -> None:
        if not self.count:
            return
        items = list(self.items)
        if self.count > len(items):
            items.append(Problem(source, f"... and {self.count - len(items)} more problem(s)"))
        raise MarketopsError(f"{source}: {self.count} bad row(s) in the experiment data", items)


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def from_count_rows(
    rows: Iterable[Mapping[str, Any]], source: str = "data", first_line: int = 2
) -> ExperimentData:
    """Per-variant aggregates, e.g. from a warehouse query. `first_line` numbers the rows."""
    problems = _Problems()
    users: dict[str, int] = {}
    stats: dict[str, dict[str, SampleStat]] = {}
    kinds: dict[str, str] = {}
    for line, row in enumerate(rows, start=first_line):
        where = f"{source}:{line}"
        variant = str(row.get("variant") or "").strip()
        metric = str(row.get("metric") or "").strip()
        if not variant:
            problems.add(where, "variant: empty", "every row names its variant")
            continue
        if not metric:
            problems.add(where, "metric: empty", "every row names its metric")
            continue
        n = _number(row.get("users"))
        if n is None or n < 0 or n != int(n):
            problems.add(where, f"users: {row.get('users')!r} is not a whole number >= 0")
            continue
        raw_sum = row.get("sum", row.get("conversions"))
        total = _number(raw_sum)
        if total is None:
            problems.add(
                where,
                f"sum: {raw_sum!r} is not a number",
                "give `sum` (or `conversions` for a proportion)",
            )
            continue
        raw_sq = row.get("sum_squares")
        has_sq = raw_sq is not None and str(raw_sq).strip() != ""
        kind = "mean" if has_sq else "proportion"
        if kinds.setdefault(metric, kind) != kind:
            problems.add(
                where,
                f"sum_squares: metric {metric!r} is a {kinds[metric]} in another row",
                "give sum_squares for every variant of a mean metric, or none",
            )
            continue
        if metric in stats and variant in stats[metric]:
            problems.add(
                where,
                f"metric {metric!r} for variant {variant!r} appears twice",
                "one row per variant and metric",
            )
            continue
        units = int(n)
        if kind == "proportion":
            if not 0 <= total <= units:
                problems.add(
                    where,
                    f"sum: {total:g} conversions out of {units} users",
                    "conversions must be between 0 and users",
                )
                continue
            stat = SampleStat.proportion(total, units)
        else:
            sq = _number(raw_sq)
            if sq is None or sq < 0:
                problems.add(where, f"sum_squares: {raw_sq!r} is not a number >= 0")
                continue
            if units and sq + 1e-9 * max(1.0, sq) < total**2 / units:
                problems.add(
                    where,
                    "sum_squares is smaller than sum²/users, impossible",
                    "check the query that produced this row",
                )
                continue
            stat = SampleStat.from_sums(total, sq, units)
        stats.setdefault(metric, {})[variant] = stat
        users[variant] = max(users.get(variant, 0), units)
    problems.raise_if_any(source)
    if not users:
        raise MarketopsError(f"{source}: no rows", [Problem(source, "no data rows")])
    return ExperimentData(users=users, stats=stats, kinds=kinds)


def from_user_frame(
    frame: pd.DataFrame, source: str = "data", first_line: int = 2
) -> ExperimentData:
    """Per-user rows, one per user: aggregate to each variant's n, sum and sum of squares."""
    problems = _Problems()
    if "variant" not in frame.columns:
        raise MarketopsError(
            f"{source}: no `variant` column",
            [
                Problem(
                    source,
                    "missing column `variant`",
                    "per-user rows need variant + one column per metric",
                )
            ],
        )
    metric_cols = [c for c in frame.columns if c not in ("variant", "user_id")]
    if not metric_cols:
        raise MarketopsError(
            f"{source}: no metric columns",
            [Problem(source, "only variant/user_id columns", "add one numeric column per metric")],
        )
    lines = np.arange(first_line, first_line + len(frame))
    variant = frame["variant"].astype("string").str.strip()
    for i in np.flatnonzero((variant.isna() | (variant == "")).to_numpy()):
        problems.add(f"{source}:{lines[i]}", "variant: empty")
    if "user_id" in frame.columns:
        dup = frame["user_id"].duplicated(keep="first").to_numpy()
        for i in np.flatnonzero(dup):
            problems.add(
                f"{source}:{lines[i]}",
                f"user_id: {frame['user_id'].iloc[i]!r} appears more than once",
                "one row per user; aggregate first",
            )
    values: dict[str, np.ndarray] = {}
    for col in metric_cols:
        column = frame[col]
        if pd.api.types.is_numeric_dtype(column):  # the fast path: the reader already parsed it
            parsed = column.to_numpy(dtype=float, na_value=np.nan)
        else:
            parsed = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        for i in np.flatnonzero(~np.isfinite(parsed)):
            raw = column.iloc[i]
            what = "empty" if pd.isna(raw) or str(raw).strip() == "" else f"{raw!r} is not a number"
            problems.add(
                f"{source}:{lines[i]}", f"{col}: {what}", "write 0 for a user without the event"
            )
        values[col] = parsed
    problems.raise_if_any(source)
    if not len(frame):
        raise MarketopsError(f"{source}: no rows", [Problem(source, "no data rows")])
    codes, names = pd.factorize(variant, sort=False)
    k = len(names)
    counts = np.bincount(codes, minlength=k)
    data = ExperimentData(users={str(v): int(c) for v, c in zip(names, counts, strict=True)})
    for col, x in values.items():
        sums = np.bincount(codes, weights=x, minlength=k)
        binary = bool(np.isin(x, (0.0, 1.0)).all())
        data.kinds[col] = "proportion" if binary else "mean"
        squares = sums if binary else np.bincount(codes, weights=x * x, minlength=k)
        data.stats[col] = {
            str(v): SampleStat.proportion(s, int(n))
            if binary
            else SampleStat.from_sums(s, sq, int(n))
            for v, n, s, sq in zip(names, counts, sums, squares, strict=True)
        }
    return data


def from_records(records: list[Mapping[str, Any]], source: str = "data") -> ExperimentData:
    """JSON-like records: count rows if they carry `metric` and `users`, per-user rows otherwise."""
    if not records:
        raise MarketopsError(f"{source}: no rows", [Problem(source, "no data rows")])
    if set(records[0]) >= COUNT_COLUMNS:
        return from_count_rows(records, source, first_line=1)
    return from_user_frame(pd.DataFrame.from_records(records), source, first_line=1)


def load_file(path: Path) -> ExperimentData:
    """A CSV (header row) or JSON (a list of objects, or {"rows": [...]}) results file."""
    source = str(path)
    if not path.exists():
        raise MarketopsError(f"{path}: file not found", [Problem(source, "file not found")])
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise MarketopsError(
                f"{path}: not valid JSON", [Problem(f"{source}:{exc.lineno}", exc.msg)]
            ) from exc
        rows = doc.get("rows") if isinstance(doc, dict) else doc
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise MarketopsError(
                f"{path}: expected a list of objects",
                [Problem(source, 'top level must be [ {...}, ... ] or {"rows": [ ... ]}')],
            )
        return from_records(rows, source)
    # element index i maps to line i + 2 (after the header) in both readers below
    header = set(pd.read_csv(path, nrows=0, skipinitialspace=True).columns)
    if header >= COUNT_COLUMNS:  # small: read as text so each cell is checked by hand
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
        return from_count_rows(frame.to_dict("records"), source)
    # large: let the C reader parse numbers; only columns it could not parse are re-checked
    return from_user_frame(pd.read_csv(path, skipinitialspace=True), source)
