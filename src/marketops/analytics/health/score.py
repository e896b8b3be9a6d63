"""Counts -> scores. Pure: every score is a share of integer counts (1.0 = healthy), so two engines
that count the same give the same scores to the last digit."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from marketops.analytics.health import DIMENSIONS
from marketops.analytics.health.checks import Plan
from marketops.analytics.health.spec import HealthSpec


@dataclass(frozen=True)
class FieldScore:
    """One field (or consistency rule, or timestamp column) on one dimension."""

    dimension: str
    field: str
    score: float | None  # None: nothing to measure (no rows, no values)
    checked: int
    failed: int
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DimensionScore:
    dimension: str
    score: float | None
    checked: int
    failed: int
    threshold: float | None = None

    @property
    def breached(self) -> bool:
        return self.threshold is not None and self.score is not None and self.score < self.threshold


@dataclass
class HealthReport:
    source: str
    engine: str
    at: datetime
    rows: int
    contract_id: str
    contract_version: str
    dimensions: list[DimensionScore]
    fields: list[FieldScore]
    notes: list[str] = field(default_factory=list)
    run_id: int | None = None
    alerts: int = 0

    def dimension(self, name: str) -> DimensionScore:
        return next(d for d in self.dimensions if d.dimension == name)

    def field_score(self, dimension: str, name: str) -> FieldScore | None:
        return next((f for f in self.fields if f.dimension == dimension and f.field == name), None)

    @property
    def breaches(self) -> list[DimensionScore]:
        return [d for d in self.dimensions if d.breached]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "source": self.source,
            "engine": self.engine,
            "at": self.at.isoformat(),
            "rows": self.rows,
            "contract": {"id": self.contract_id, "version": self.contract_version},
            "dimensions": [{**asdict(d), "breached": d.breached} for d in self.dimensions],
            "fields": [asdict(f) for f in self.fields],
            "breaches": [d.dimension for d in self.breaches],
            "alerts": self.alerts,
            "notes": self.notes,
        }


def _share(good: int, total: int) -> float | None:
    return None if total <= 0 else round(good / total, 6)


def _r(x: Any) -> float | None:
    return None if x is None else round(float(x), 4)


def score(
    plan: Plan,
    counts: dict[str, Any],
    spec: HealthSpec,
    *,
    source: str,
    engine: str,
    now: datetime,
) -> HealthReport:
    rows = int(counts["rows"])
    out: list[FieldScore] = []
    notes = list(plan.notes)
    totals = {d: [0, 0] for d in DIMENSIONS}  # checked, failed that make up the dimension
    uniq: list[tuple[int, int]] = []  # (checked, duplicates) per key; the worst one counts

    required = [f for f in plan.fields if f.required and f.status != "outside"]
    completeness_basis = required or [f for f in plan.fields if f.status == "checked"]
    for f in plan.fields:
        if f.status == "outside":
            notes.append(f"{f.name}: kept outside the scored table; not scored")
            continue
        if f.status == "missing":
            if f.required:
                out.append(
                    FieldScore(
                        "completeness", f.name, _share(0, rows), rows, rows, {"column": "missing"}
                    )
                )
                totals["completeness"][0] += rows
                totals["completeness"][1] += rows
            else:
                notes.append(f"{f.name}: no such column; not scored")
            continue
        present = int(counts[f"{f.key}_present"])
        out.append(
            FieldScore(
                "completeness",
                f.name,
                _share(present, rows),
                rows,
                rows - present,
                {"required": f.required},
            )
        )
        if f in completeness_basis:
            totals["completeness"][0] += rows
            totals["completeness"][1] += rows - present
        if f.checks:
            invalid = int(counts[f"{f.key}_invalid"])
            by_check = {c: int(counts[f"{f.key}_fail{j}"]) for j, c in enumerate(f.checks)}
            out.append(
                FieldScore(
                    "validity",
                    f.name,
                    _share(present - invalid, present),
                    present,
                    invalid,
                    {"failed_by_check": by_check},
                )
            )
            totals["validity"][0] += present
            totals["validity"][1] += invalid
        if f.unique:
            dup = present - int(counts[f"{f.key}_distinct"])
            out.append(
                FieldScore(
                    "uniqueness",
                    f.name,
                    _share(present - dup, present),
                    present,
                    dup,
                    {"duplicates_per_1000": _r(1000 * dup / rows) if rows else None},
                )
            )
            uniq.append((present, dup))

    for rp in plan.rules:
        if rp.status != "checked":
            notes.append(f"consistency rule {rp.name}: skipped, {rp.note}")
            continue
        applies = int(counts[f"{rp.key}_applies"])
        bad = int(counts[f"{rp.key}_violations"])
        out.append(FieldScore("consistency", rp.name, _share(applies - bad, applies), applies, bad))
        totals["consistency"][0] += applies
        totals["consistency"][1] += bad

    timeliness: DimensionScore | None = None
    if plan.ts_field is not None:
        n = int(counts["ts_n"])
        newest = _r(counts["ts_newest_age"])
        details: dict[str, Any] = {
            "newest_age_days": newest,
            "median_age_days": _r(counts["ts_median_age"]),
            "p90_age_days": _r(counts["ts_p90_age"]),
            "in_future": int(counts["ts_future"]),
            "freshness_days": spec.freshness_days,
            "max_age_days": plan.max_age_days,
        }
        parts: list[float] = []
        failed = 0
        if spec.freshness_days is not None and newest is not None:
            fresh = 1.0 if newest <= spec.freshness_days else spec.freshness_days / newest
            details["freshness_score"] = round(fresh, 6)
            parts.append(fresh)
        if plan.max_age_days is not None and n:
            within = int(counts["ts_within"])
            details["within_max_age"] = within
            failed = n - within
            parts.append(within / n)
        value = round(min(parts), 6) if parts else None
        out.append(FieldScore("timeliness", plan.ts_field, value, n, failed, details))
        timeliness = DimensionScore("timeliness", value, n, failed)
    else:
        notes.append("timeliness: no timestamp column to measure")

    if "identity_distinct" in counts:
        clusters = int(counts["identity_singletons"]) + int(counts["identity_distinct"])
        dup = rows - clusters
        out.append(
            FieldScore(
                "uniqueness",
                "identity",
                _share(clusters, rows),
                rows,
                dup,
                {"duplicates_per_1000": _r(1000 * dup / rows) if rows else None},
            )
        )
        uniq.append((rows, dup))
    else:
        notes.append("uniqueness: no identity clusters in the data; duplicates by email only")
    if not uniq:
        notes.append("uniqueness: no `unique: true` field in the data")
    else:

        def badness(cd: tuple[int, int]) -> tuple[float, int]:
            share = _share(cd[0] - cd[1], cd[0])
            return (1.0 if share is None else share, -cd[1])

        worst = min(uniq, key=badness)
        totals["uniqueness"] = list(worst)

    dims: list[DimensionScore] = []
    for d in DIMENSIONS:
        thr = spec.thresholds.get(d)
        if d == "timeliness":
            base = timeliness or DimensionScore("timeliness", None, 0, 0)
            dims.append(DimensionScore(d, base.score, base.checked, base.failed, thr))
            continue
        checked, failed = totals[d]
        dims.append(DimensionScore(d, _share(checked - failed, checked), checked, failed, thr))
    for d in dims:
        if d.threshold is not None and d.score is None:
            notes.append(f"{d.dimension}: has a threshold but nothing was measured")
    return HealthReport(
        source=source,
        engine=engine,
        at=now,
        rows=rows,
        contract_id=spec.contract_id,
        contract_version=spec.contract_version,
        dimensions=dims,
        fields=out,
        notes=notes,
    )
