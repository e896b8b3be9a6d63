"""One use case: every requested model, per group, with revenue, spend and ROI, plus coverage.

Pure apart from the engine it is handed: the caller opens the backend, loads the tables and passes
`now`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from marketops.analytics.attribution.config import HEURISTICS, AttributionConfig
from marketops.analytics.attribution.coverage import Coverage, coverage_table, summarize
from marketops.analytics.attribution.heuristics import heuristic_credits
from marketops.analytics.attribution.journeys import NONE, journeys, scoped_conversions
from marketops.analytics.attribution.markov import MarkovResult, removal_effects, transition_counts
from marketops.analytics.attribution.shapley import ShapleyResult, attribution_shapley
from marketops.errors import MarketopsError, Problem

CENT = Decimal("0.01")
COST_LEVELS = ("channel", "campaign")


@dataclass(frozen=True)
class Credit:
    group: str
    model: str
    conversions: float
    share: float
    revenue: Decimal
    spend: Decimal | None = None
    roi: float | None = None
    stderr: float | None = None  # Shapley (sampled) only


@dataclass
class AttributionResult:
    by: str
    models: list[str]
    credits: list[Credit]
    conversions_in_scope: int
    conversions_with_touches: int
    coverage: Coverage | None = None
    markov: MarkovResult | None = None
    shapley: ShapleyResult | None = None
    notes: list[str] = field(default_factory=list)

    def groups(self) -> list[str]:
        seen: dict[str, float] = defaultdict(float)
        for c in self.credits:
            seen[c.group] += c.conversions
        return sorted(seen, key=lambda g: (-seen[g], g))

    def get(self, group: str, model: str) -> Credit | None:
        return next((c for c in self.credits if c.group == group and c.model == model), None)

    def records(self) -> list[dict[str, Any]]:
        return [
            {
                "group": c.group,
                "model": c.model,
                "conversions": c.conversions,
                "share": c.share,
                "revenue": c.revenue,
                "spend": c.spend,
                "roi": c.roi,
                "stderr": c.stderr,
            }
            for c in self.credits
        ]


def _money(x: float | Decimal | None) -> Decimal:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return Decimal(0)
    return Decimal(str(x)).quantize(CENT)


def _tables(con: Any) -> tuple[Any, Any, Any]:
    names = set(con.list_tables())
    missing = [n for n in ("touchpoints", "conversions") if n not in names]
    if missing:
        raise MarketopsError(
            "attribution needs touchpoints and conversions",
            [
                Problem(n, "table not loaded", "load it with --touchpoints/--conversions")
                for n in missing
            ],
        )
    return (
        con.table("touchpoints"),
        con.table("conversions"),
        (con.table("costs") if "costs" in names else None),
    )


def spend_by_group(costs: Any, cfg: AttributionConfig, now: datetime) -> dict[str, Decimal]:
    c = costs.filter(costs.day <= now.date())
    if cfg.lookback_days is not None:
        c = c.filter(c.day > (now - timedelta(days=cfg.lookback_days)).date())
    key = c[cfg.by].fill_null(NONE)
    df = c.group_by(group=key).aggregate(spend=c.spend.sum()).to_pandas()
    return {str(g): _money(s) for g, s in zip(df.group, df.spend, strict=True)}


def attribute(
    con: Any, cfg: AttributionConfig, now: datetime, *, with_coverage: bool = True
) -> AttributionResult:
    """Run cfg.models over the `touchpoints`/`conversions`(/`costs`) tables already in `con`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    tp, conv, costs = _tables(con)
    rows: dict[str, dict[str, tuple[float, float, float | None]]] = defaultdict(dict)
    notes: list[str] = []
    heur = [m for m in cfg.models if m in HEURISTICS]
    if heur:
        df = heuristic_credits(tp, conv, cfg, now, heur).to_pandas()
        for rec in df.to_dict("records"):
            for m in heur:
                rows[m][str(rec["group"])] = (float(rec[m]), float(rec[f"{m}__rev"] or 0.0), None)

    markov = shap = None
    if "markov" in cfg.models or "shapley" in cfg.models:
        jt = journeys(tp, conv, cfg, now, level=cfg.by)
        firsts = jt.filter(jt.converted & (jt.pos == 0))
        tot = firsts.aggregate(n=firsts.count(), rev=firsts.amount.sum()).to_pandas().iloc[0]
        total_n, total_rev = float(tot.n or 0), float(tot.rev or 0.0)
        if "markov" in cfg.models:
            edges = transition_counts(jt, cfg.markov_order).to_pandas()
            markov = removal_effects(edges)
            for g, s in markov.shares.items():
                rows["markov"][g] = (total_n * s, total_rev * s, None)
        if "shapley" in cfg.models:
            shap = _shapley(jt, cfg)
            for i, g in enumerate(shap.players):
                se = float(shap.stderr[i, 0]) if shap.method == "sampled" else None
                rows["shapley"][g] = (float(shap.values[i, 0]), float(shap.values[i, 1]), se)
            if shap.method == "sampled":
                notes.append(
                    f"shapley: {len(shap.players)} groups > {cfg.shapley_exact_max}, "
                    f"sampled {shap.samples} orders; stderr column is its standard error"
                )

    spend: dict[str, Decimal] = {}
    if costs is not None:
        if cfg.by in COST_LEVELS:
            spend = spend_by_group(costs, cfg, now)
        else:
            notes.append(f"costs are per campaign/channel; no ROI at the {cfg.by} level")

    credits: list[Credit] = []
    for m in cfg.models:
        per = rows.get(m, {})
        total = sum(v[0] for v in per.values())
        for g in sorted(set(per) | set(spend)):
            n, rev, se = per.get(g, (0.0, 0.0, None))
            revenue = _money(rev)
            s = spend.get(g) if spend else None
            roi = float((revenue - s) / s) if s else None
            credits.append(Credit(g, m, n, n / total if total else 0.0, revenue, s, roi, se))

    scope = int(scoped_conversions(conv, cfg, now).count().to_pandas())
    if scope == 0:
        notes.append("no conversions in scope: check the kinds, the lookback window and `now`")
    # every model hands out exactly 1 per conversion that has a touch, so any model's total counts
    # them without another pass over the data
    first_model = next(iter(rows.values()), {})
    touched = round(sum(v[0] for v in first_model.values()))
    cov = summarize(coverage_table(tp, conv, cfg, now).to_pandas()) if with_coverage else None
    return AttributionResult(
        cfg.by, list(cfg.models), credits, scope, touched, cov, markov, shap, notes
    )


def _shapley(jt: Any, cfg: AttributionConfig) -> ShapleyResult:
    conv = jt.filter(jt.converted)
    pairs = conv.select("jid", "g", "amount").distinct().to_pandas()
    if pairs.empty:
        return attribution_shapley([], [], np.zeros((0, 2)))
    players = sorted(pairs.g.unique())
    code = {g: i for i, g in enumerate(players)}
    pairs["c"] = pairs.g.map(code)
    per = pairs.groupby("jid").agg(
        members=("c", lambda s: tuple(sorted(s))), amount=("amount", "first")
    )
    per["amount"] = per.amount.fillna(0.0)
    grouped = per.groupby("members").agg(n=("amount", "size"), rev=("amount", "sum"))
    weights = np.column_stack([grouped.n.to_numpy(float), grouped.rev.to_numpy(float)])
    return attribution_shapley(
        players,
        list(grouped.index),
        weights,
        exact_max=cfg.shapley_exact_max,
        samples=cfg.shapley_samples,
        seed=cfg.seed,
    )


def frame(result: AttributionResult) -> pd.DataFrame:
    """Long form (group, model, …) for files: money as text so no float touches it."""
    df = pd.DataFrame(result.records())
    for col in ("revenue", "spend"):
        if col in df:
            df[col] = df[col].map(lambda v: None if v is None else str(v))
    return df


def attribute_files(
    touchpoints: Path,
    conversions: Path,
    costs: Path | None,
    cfg: AttributionConfig,
    now: datetime,
    *,
    engine_url: str | None = None,
) -> AttributionResult:
    """Open the engine, load the files (all problems reported at once) and attribute."""
    from marketops.analytics.attribution.load import load_files
    from marketops.analytics.engines import connect

    con = connect(engine_url)
    try:
        load_files(con, touchpoints, conversions, costs)
        return attribute(con, cfg, now)
    finally:
        con.disconnect()


def to_dict(result: AttributionResult) -> dict[str, Any]:
    """JSON-ready form shared by the CLI (--json) and the API (money stays Decimal → str)."""
    from dataclasses import asdict

    return {
        "by": result.by,
        "models": result.models,
        "conversions_in_scope": result.conversions_in_scope,
        "conversions_with_touches": result.conversions_with_touches,
        "credits": result.records(),
        "coverage": asdict(result.coverage) if result.coverage else None,
        "markov": asdict(result.markov) if result.markov else None,
        "shapley": None
        if result.shapley is None
        else {"method": result.shapley.method, "samples": result.shapley.samples},
        "notes": result.notes,
    }
