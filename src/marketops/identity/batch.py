"""Batch resolution: exact rules first, then Splink on what is left, then connected components.

1. Deterministic rules (normalized email, E.164 phone by default) join records outright.
2. Each deterministic group is represented by its most complete record, so Splink only scores
   pairs between groups (on lead data ~half the records collapse here, and the pairs with them).
3. Splink (DuckDB) estimates the prior from precise rules and u by random sampling; m comes
   from the pairs the exact rules linked (they are labelled matches), or from Splink's EM when
   there are too few. Splink then predicts pairs from the blocking rules; pairs at or above
   the threshold are edges.
4. Connected components (scipy) over both kinds of edges give the identities. Each record keeps
   the probability of the link that joined it (1.0 for exact rules) and the record it joined.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from marketops.identity.config import IdentityConfig
from marketops.identity.model import MatchModel, default_model, from_splink, splink_comparison

log = logging.getLogger(__name__)
MIN_EM_PAIRS = 100  # fewer blocked pairs than this make EM estimates noise (or fail)


@dataclass
class BatchResult:
    """`links` has one row per record: unique_id, cluster (an id of one member), method,
    match_probability and matched_to (None for the record that anchors its identity)."""

    links: pd.DataFrame
    model: MatchModel
    stats: dict[str, Any] = field(default_factory=dict)
    pairs: pd.DataFrame | None = None  # Splink's scored pairs at or above the threshold


def _rule_sql(cols: list[str]) -> str:
    return " AND ".join(f'l."{c}" = r."{c}"' for c in cols)


def splink_settings(cfg: IdentityConfig, prior: float) -> dict[str, Any]:
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": prior,
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": _rule_sql(r)} for r in cfg.blocking_rules
        ],
        "comparisons": [splink_comparison(c) for c in cfg.comparisons],
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
    }


def deterministic_edges(
    df: pd.DataFrame, columns: list[str]
) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """(row, first row with the same value, rule) for each rule column."""
    out = []
    for col in columns:
        if col not in df.columns:
            continue
        codes, _ = pd.factorize(df[col], use_na_sentinel=True)
        rows = np.arange(len(df))
        keep = codes >= 0
        first = pd.Series(rows[keep]).groupby(codes[keep]).transform("min").to_numpy()
        src = rows[keep]
        mask = src != first
        out.append((src[mask], first[mask], col))
    return out


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def train_and_predict(
    reps: pd.DataFrame,
    cfg: IdentityConfig,
    *,
    train: bool,
    model: MatchModel | None,
    notes: list[str],
    labelled_m: dict[str, list[float]] | None = None,
    timings: dict[str, float] | None = None,
) -> tuple[pd.DataFrame, MatchModel]:
    """Splink on DuckDB: (pairs at or above the threshold, the model used)."""
    timings = {} if timings is None else timings
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(timings.get(name, 0.0) + now - clock, 3)
        clock = now

    from splink import DuckDBAPI, Linker
    from splink.internals.exceptions import EMTrainingException

    logging.getLogger("splink").setLevel(logging.ERROR)
    base = model or default_model(cfg)
    db_api = DuckDBAPI()
    sdf = db_api.register(reps)
    linker = Linker(sdf, splink_settings(cfg, base.prior), log_level=logging.ERROR)
    trained = base
    if train:
        tr = cfg.training
        linker.training.estimate_probability_two_random_records_match(
            [_rule_sql(r) for r in tr.prior_rules], recall=tr.deterministic_recall
        )
        if not 0 < linker._settings_obj._probability_two_random_records_match < 1:
            linker._settings_obj._probability_two_random_records_match = base.prior
        lap("prior")
        linker.training.estimate_u_using_random_sampling(max_pairs=tr.u_max_pairs, seed=tr.seed)
        lap("u")
        em_rules = tr.em_blocking_rules if not labelled_m else []
        for rule in em_rules:
            sizes = reps.groupby(rule, dropna=True).size().to_numpy()
            if int((sizes * (sizes - 1) // 2).sum()) < MIN_EM_PAIRS:
                notes.append(f"EM on {'+'.join(rule)} skipped: under {MIN_EM_PAIRS} pairs")
                continue
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    _rule_sql(rule), estimate_without_term_frequencies=True
                )
            except EMTrainingException as exc:  # too few pairs (small data): keep going
                notes.append(f"EM on {'+'.join(rule)} skipped: {str(exc).splitlines()[0]}")
        lap("em")
        trained = from_splink(linker.misc.save_model_to_json(), cfg, base)
        for comp in trained.comparisons:
            if labelled_m and comp.spec.column in labelled_m:
                comp.m = labelled_m[comp.spec.column]
    # predict with every parameter set explicitly (levels EM could not train get the fallback's
    # values), so Splink's weights are exactly what the real-time scorer computes
    linker = Linker(
        sdf, with_params(splink_settings(cfg, trained.prior), trained), log_level=logging.ERROR
    )
    pairs = linker.inference.predict(threshold_match_probability=cfg.threshold)
    out = pairs.as_pandas_dataframe()[
        ["unique_id_l", "unique_id_r", "match_probability", "match_weight"]
    ]
    lap("predict")
    return out, trained


def with_params(settings: dict[str, Any], model: MatchModel) -> dict[str, Any]:
    """Splink settings with the model's m and u on every level."""
    for comp, ours in zip(settings["comparisons"], model.comparisons, strict=True):
        levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
        for lv, m, u in zip(levels, ours.m, ours.u, strict=True):
            lv["m_probability"], lv["u_probability"] = m, u
    return settings


def m_from_exact_links(
    df: pd.DataFrame,
    det: list[tuple[np.ndarray, np.ndarray, str]],
    model: MatchModel,
    min_pairs: int,
) -> dict[str, list[float]]:
    """m per comparison from the pairs the exact rules linked: they are matches, so the share
    of them in each level estimates P(level | match). A comparison is not learned from pairs
    its own column linked (email from phone-linked pairs, phone from email-linked ones); add-½
    smoothing keeps every level possible. Comparisons with fewer than `min_pairs` usable pairs
    are left out (the caller keeps its other estimate)."""
    if not det:
        return {}
    pairs = [
        (int(a), int(b), rule) for src, dst, rule in det for a, b in zip(src, dst, strict=True)
    ]
    rows = sorted({i for a, b, _ in pairs for i in (a, b)})
    sub = df.iloc[rows]
    cols = {c: sub[c].tolist() for c in sub.columns if c != "unique_id"}  # fast for Arrow
    records: dict[int, dict[str, Any]] = {}
    for j, i in enumerate(rows):
        records[i] = {
            c: (None if isinstance(v[j], float) and v[j] != v[j] else v[j]) for c, v in cols.items()
        }
    out: dict[str, list[float]] = {}
    for comp in model.comparisons:
        own = {comp.spec.column} | (
            {"email", "email_local"} if comp.spec.kind == "email" else set()
        )
        counts = np.zeros(len(comp.levels))
        for a, b, rule in pairs:
            if rule in own:
                continue
            level = comp.level_of(records[a], records[b])
            if level >= 0:
                counts[level] += 1
        if counts.sum() >= min_pairs:
            smoothed = (counts + 0.5) / (counts.sum() + 0.5 * len(counts))
            out[comp.spec.column] = [float(x) for x in smoothed]
    return out


def resolve_frame(
    df: pd.DataFrame,
    cfg: IdentityConfig,
    *,
    train: bool = True,
    model: MatchModel | None = None,
) -> BatchResult:
    """Cluster a frame of feature rows (`unique_id` + feature columns) into identities."""
    t0 = time.perf_counter()
    df = df.reset_index(drop=True)
    n = len(df)
    det = deterministic_edges(df, cfg.deterministic)
    det_a = np.concatenate([e[0] for e in det]) if det else np.array([], dtype=np.int64)
    det_b = np.concatenate([e[1] for e in det]) if det else np.array([], dtype=np.int64)
    det_comp = _components(n, det_a, det_b)
    # representative: the most complete record of each deterministic group
    feature_cols = [c for c in df.columns if c not in ("unique_id", "first_names")]
    completeness = df[feature_cols].notna().sum(axis=1).to_numpy()
    order = np.lexsort((np.arange(n), -completeness, det_comp))
    first_in_group = np.ones(n, dtype=bool)
    first_in_group[1:] = det_comp[order][1:] != det_comp[order][:-1]
    rep_rows = order[first_in_group]
    t1 = time.perf_counter()

    reps = df.iloc[rep_rows]
    notes: list[str] = []
    splink_t: dict[str, float] = {}
    t_m = 0.0
    if len(reps) >= 2:
        do_train = train and len(reps) >= 50
        labelled = None
        if do_train and cfg.training.m_from == "exact_links":
            labelled = m_from_exact_links(
                df, det, model or default_model(cfg), cfg.training.min_labelled_pairs
            )
            if labelled:
                notes.append(f"m from exact links for: {', '.join(sorted(labelled))}")
            else:
                notes.append("too few exact links to learn m from: EM instead")
        t_m = time.perf_counter() - t1
        pairs, used = train_and_predict(
            reps,
            cfg,
            train=do_train,
            model=model,
            notes=notes,
            labelled_m=labelled,
            timings=splink_t,
        )
    else:
        pairs, used = (
            pd.DataFrame(
                columns=["unique_id_l", "unique_id_r", "match_probability", "match_weight"]
            ),
            model or default_model(cfg),
        )
    t2 = time.perf_counter()

    pos = pd.Series(np.arange(n), index=df["unique_id"].to_numpy())
    pa = pos.reindex(pairs["unique_id_l"].to_numpy()).to_numpy()
    pb = pos.reindex(pairs["unique_id_r"].to_numpy()).to_numpy()
    comp = _components(n, np.concatenate([det_a, pa]), np.concatenate([det_b, pb]))

    ids = df["unique_id"].to_numpy()
    method = np.full(n, None, dtype=object)
    prob = np.full(n, np.nan)
    matched = np.full(n, None, dtype=object)
    # deterministic links: every non-representative joined by an exact rule, probability 1
    det_rule = np.full(n, None, dtype=object)
    for a, _b, rule in reversed(det):
        det_rule[a] = rule
    rep_of = np.empty(n, dtype=np.int64)
    rep_of[order] = np.maximum.accumulate(np.where(first_in_group, np.arange(n), 0))
    rep_of = order[rep_of]
    non_rep = rep_of != np.arange(n)
    method[non_rep] = np.where(det_rule[non_rep] == None, "exact", det_rule[non_rep])  # noqa: E711
    prob[non_rep] = 1.0
    matched[non_rep] = ids[rep_of[non_rep]]
    # model links: each representative linked by the model keeps its strongest edge
    if len(pairs):
        e = pd.DataFrame({"a": pa, "b": pb, "p": pairs["match_probability"].to_numpy()})
        both = pd.concat([e, e.rename(columns={"a": "b", "b": "a"})], ignore_index=True)
        best = both.sort_values("p", ascending=False).drop_duplicates("a")
        rows = best["a"].to_numpy()
        method[rows] = "model"
        prob[rows] = best["p"].to_numpy()
        matched[rows] = ids[best["b"].to_numpy()]
    # the identity is named after its earliest record
    anchor = pd.Series(np.arange(n)).groupby(comp).transform("min").to_numpy()
    links = pd.DataFrame(
        {
            "unique_id": ids,
            "cluster": ids[anchor],
            "method": method,
            "match_probability": prob,
            "matched_to": matched,
        }
    )
    alone = links["cluster"].map(links["cluster"].value_counts()) == 1
    links.loc[alone, ["method", "matched_to"]] = None
    links.loc[alone, "match_probability"] = np.nan
    t3 = time.perf_counter()
    identities = int(links["cluster"].nunique())
    stats = {
        "records": n,
        "identities": identities,
        "exact_links": int(non_rep.sum()),
        "model_pairs": len(pairs),
        "splink_records": len(reps),
        "notes": notes,
        "duplicates_per_1000": round(1000 * (n - identities) / n, 2) if n else 0.0,
        "seconds": {
            "exact": round(t1 - t0, 3),
            "m_from_exact_links": round(t_m, 3),
            "splink": round(t2 - t1 - t_m, 3),
            "splink_phases": splink_t,
            "cluster": round(t3 - t2, 3),
        },
    }
    return BatchResult(links, used, stats, pairs)
