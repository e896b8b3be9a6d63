"""Batch resolution: exact rules first, then Splink on what is left, then connected components.

1. Deterministic rules (normalized email, E.164 phone by default) join records outright.
2. Each deterministic group is represented by its most complete record, so Splink only scores
   pairs between groups (on lead data ~half the records collapse here, and the pairs with them).
   Blocking rules on a deterministic column are dropped: no two representatives share a value.
3. The prior λ and, from the pairs the exact rules linked (labelled matches), m are counted in
   SQL on the local frame (`identity.estimates`); Splink (DuckDB, or Spark: `identity.engines`)
   estimates u by random sampling, m by EM when there are too few labelled pairs, and predicts
   the blocked pairs, keeping only those at or above the threshold.
4. Connected components (scipy) over both kinds of edges give the identities. Each record keeps
   the probability of the link that joined it (1.0 for exact rules) and the record it joined.

Only the columns the rules and comparisons read go to Splink, as Arrow (no pandas copy).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from marketops.identity.config import IdentityConfig
from marketops.identity.engines import open_backend
from marketops.identity.estimates import (
    MAX_PRIOR_RULES,
    linked_pairs,
    m_from_exact_links,
    prior_from_rules,
    with_partners,
)
from marketops.identity.model import (
    Dialect,
    MatchModel,
    default_model,
    from_splink,
    splink_comparison,
)

log = logging.getLogger(__name__)
MIN_EM_PAIRS = 100  # fewer blocked pairs than this make EM estimates noise (or fail)
ROW = "mo_row"  # Splink's unique id: the record's position in the frame


@dataclass
class BatchResult:
    """`links` has one row per record: unique_id, cluster (an id of one member), method,
    match_probability and matched_to (None for the record that anchors its identity)."""

    links: pd.DataFrame
    model: MatchModel
    stats: dict[str, Any] = field(default_factory=dict)
    pairs: pd.DataFrame | None = None  # Splink's scored pairs at or above the threshold


def _rule_sql(cols: list[str], dialect: Dialect = "duckdb") -> str:
    q = "`" if dialect == "spark" else '"'
    return " AND ".join(f"l.{q}{c}{q} = r.{q}{c}{q}" for c in cols)


def splink_settings(
    cfg: IdentityConfig,
    prior: float,
    *,
    dialect: Dialect = "duckdb",
    blocking_rules: list[list[str]] | None = None,
    unique_id: str = "unique_id",
) -> dict[str, Any]:
    rules = cfg.blocking_rules if blocking_rules is None else blocking_rules
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": unique_id,
        "probability_two_random_records_match": prior,
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": _rule_sql(r, dialect)} for r in rules
        ],
        "comparisons": [splink_comparison(c, dialect) for c in cfg.comparisons],
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


def _columns_used(cfg: IdentityConfig, model: MatchModel) -> list[str]:
    tr = cfg.training
    cols = {lv[1] for c in model.comparisons for lv in c.levels}
    cols |= {c.spec.column for c in model.comparisons}
    for rules in (cfg.blocking_rules, tr.em_blocking_rules, tr.prior_rules):
        cols |= {c for rule in rules for c in rule}
    return sorted(cols)


def _arrow(df: pd.DataFrame, cols: list[str]) -> pa.Table:
    """The frame's columns as Arrow plus `mo_row`; a missing column is all nulls (unmatchable)."""
    arrays, names = [], []
    for c in cols:
        if c in df.columns:
            arrays.append(pa.array(df[c], from_pandas=True))
        elif c == "first_names":
            arrays.append(pa.nulls(len(df), pa.list_(pa.string())))
        else:
            arrays.append(pa.nulls(len(df), pa.string()))
        names.append(c)
    arrays.append(pa.array(np.arange(len(df), dtype=np.int64)))
    names.append(ROW)
    return pa.Table.from_arrays(arrays, names=names)


def train_and_predict(
    backend: Any,
    n_reps: int,
    cfg: IdentityConfig,
    *,
    train: bool,
    model: MatchModel | None,
    notes: list[str],
    labelled_m: dict[str, list[float]] | None = None,
    timings: dict[str, float] | None = None,
) -> tuple[pd.DataFrame, MatchModel]:
    """Splink on the backend: (pairs at or above the threshold with `mo_row_l`, `mo_row_r`,
    match_probability, match_weight; the model used). The records are `mo_reps` on the
    backend's local DuckDB connection (prior and EM pair counts come from there): Splink's input
    for training; prediction reads only those that share a blocking key (`mo_cands`)."""
    timings = {} if timings is None else timings
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(timings.get(name, 0.0) + now - clock, 3)
        clock = now

    from splink import Linker
    from splink.internals.exceptions import EMTrainingException

    logging.getLogger("splink").setLevel(logging.ERROR)
    dialect = backend.dialect
    base = model or default_model(cfg)
    # no two representatives share a deterministic value: rules on one find no pairs
    blocking = [r for r in cfg.blocking_rules if not set(r) & set(cfg.deterministic)]
    if not blocking:
        notes.append("every blocking rule uses a deterministic column: exact links only")
    sdf = backend.splink_input("mo_reps")
    lap("register")

    def linker(prior: float, m: MatchModel | None = None, data: Any = sdf) -> Any:
        settings = splink_settings(
            cfg,
            prior,
            dialect=dialect,
            blocking_rules=blocking or cfg.blocking_rules,
            unique_id=ROW,
        )
        return Linker(data, with_params(settings, m) if m else settings, log_level=logging.ERROR)

    trained = base
    if train:
        tr = cfg.training
        prior = base.prior
        if len(tr.prior_rules) <= MAX_PRIOR_RULES:
            est = prior_from_rules(
                backend.con, "mo_reps", tr.prior_rules, tr.deterministic_recall, n_reps
            )
            prior = est if est is not None else base.prior
        lk = linker(prior)
        if len(tr.prior_rules) > MAX_PRIOR_RULES:
            lk.training.estimate_probability_two_random_records_match(
                [_rule_sql(r, dialect) for r in tr.prior_rules], recall=tr.deterministic_recall
            )
            if not 0 < lk._settings_obj._probability_two_random_records_match < 1:
                lk._settings_obj._probability_two_random_records_match = base.prior
        lap("prior")
        lk.training.estimate_u_using_random_sampling(
            max_pairs=tr.u_max_pairs, seed=tr.seed, num_chunks=backend.u_chunks
        )
        lap("u")
        em_rules = tr.em_blocking_rules if not labelled_m else []
        for rule in em_rules:
            if linked_pairs(backend.con, "mo_reps", [rule]) < MIN_EM_PAIRS:
                notes.append(f"EM on {'+'.join(rule)} skipped: under {MIN_EM_PAIRS} pairs")
                continue
            try:
                lk.training.estimate_parameters_using_expectation_maximisation(
                    _rule_sql(rule, dialect), estimate_without_term_frequencies=True
                )
            except EMTrainingException as exc:  # too few pairs (small data): keep going
                notes.append(f"EM on {'+'.join(rule)} skipped: {str(exc).splitlines()[0]}")
        lap("em")
        trained = from_splink(lk.misc.save_model_to_json(), cfg, base)
        for comp in trained.comparisons:
            if labelled_m and comp.spec.column in labelled_m:
                comp.m = labelled_m[comp.spec.column]
    cands = with_partners(backend.con, "mo_reps", blocking) if blocking else None
    if cands is None or cands.num_rows < 2:  # no two records share a blocking key
        return pd.DataFrame(
            columns=[f"{ROW}_l", f"{ROW}_r", "match_probability", "match_weight"]
        ), trained
    # u was sampled from every record; prediction joins only those a blocked pair can contain
    backend.con.register("mo_cands", cands)
    notes.append(f"{cands.num_rows:,} of {n_reps:,} records share a blocking key")
    lap("candidates")
    # predict with every parameter set explicitly (levels EM could not train get the fallback's
    # values), so Splink's weights are exactly what the real-time scorer computes
    pairs = linker(trained.prior, trained, backend.splink_input("mo_cands")).inference.predict(
        threshold_match_probability=cfg.threshold,
        num_chunks_left=1,
        num_chunks_right=cfg.engine.predict_chunks,
    )
    out = pairs.as_pandas_dataframe()[[f"{ROW}_l", f"{ROW}_r", "match_probability", "match_weight"]]
    lap("predict")
    return out, trained


def with_params(settings: dict[str, Any], model: MatchModel) -> dict[str, Any]:
    """Splink settings with the model's m and u on every level."""
    for comp, ours in zip(settings["comparisons"], model.comparisons, strict=True):
        levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
        for lv, m, u in zip(levels, ours.m, ours.u, strict=True):
            lv["m_probability"], lv["u_probability"] = m, u
    return settings


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
    rep_rows = np.sort(order[first_in_group])
    t1 = time.perf_counter()

    notes: list[str] = []
    splink_t: dict[str, float] = {}
    t_m = 0.0
    base = model or default_model(cfg)
    if len(rep_rows) >= 2:
        is_rep = np.zeros(n, dtype=bool)
        is_rep[rep_rows] = True
        table = _arrow(df, _columns_used(cfg, base)).append_column("mo_rep", pa.array(is_rep))
        backend = open_backend(cfg.engine)
        try:
            backend.con.register("mo_frame", table)  # Arrow over the frame's buffers
            backend.con.execute(
                "CREATE TEMP VIEW mo_reps AS SELECT * EXCLUDE (mo_rep) FROM mo_frame WHERE mo_rep"
            )
            do_train = train and len(rep_rows) >= 50
            labelled = None
            if do_train and cfg.training.m_from == "exact_links":
                labelled = m_from_exact_links(
                    backend.con, table, det, base, cfg.training.min_labelled_pairs
                )
                if labelled:
                    notes.append(f"m from exact links for: {', '.join(sorted(labelled))}")
                else:
                    notes.append("too few exact links to learn m from: EM instead")
            del table  # the connection holds it
            t_m = time.perf_counter() - t1
            pairs, used = train_and_predict(
                backend,
                len(rep_rows),
                cfg,
                train=do_train,
                model=model,
                notes=notes,
                labelled_m=labelled,
                timings=splink_t,
            )
        finally:
            backend.close()
    else:
        pairs = pd.DataFrame(columns=[f"{ROW}_l", f"{ROW}_r", "match_probability", "match_weight"])
        used = base
    t2 = time.perf_counter()

    pa_ = pairs[f"{ROW}_l"].to_numpy(dtype=np.int64)
    pb_ = pairs[f"{ROW}_r"].to_numpy(dtype=np.int64)
    comp = _components(n, np.concatenate([det_a, pa_]), np.concatenate([det_b, pb_]))
    ids = df["unique_id"].to_numpy(dtype=object)
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
        p = pairs["match_probability"].to_numpy(dtype=float)
        a = np.concatenate([pa_, pb_])
        b = np.concatenate([pb_, pa_])
        pp = np.concatenate([p, p])
        best = np.lexsort((-pp, a))  # by record, strongest first
        keep = best[np.r_[True, a[best][1:] != a[best][:-1]]]
        method[a[keep]] = "model"
        prob[a[keep]] = pp[keep]
        matched[a[keep]] = ids[b[keep]]
    # the identity is named after its earliest record
    _, first_row = np.unique(comp, return_index=True)
    size = np.bincount(comp)
    alone = size[comp] == 1
    method[alone], matched[alone], prob[alone] = None, None, np.nan
    links = pd.DataFrame(
        {
            "unique_id": ids,
            "cluster": ids[first_row[comp]],
            "method": method,
            "match_probability": prob,
            "matched_to": matched,
        }
    )
    out_pairs = pd.DataFrame(
        {
            "unique_id_l": ids[pa_],
            "unique_id_r": ids[pb_],
            "match_probability": pairs["match_probability"].to_numpy(dtype=float),
            "match_weight": pairs["match_weight"].to_numpy(dtype=float),
        }
    )
    t3 = time.perf_counter()
    identities = len(size)
    stats = {
        "records": n,
        "identities": identities,
        "exact_links": int(non_rep.sum()),
        "model_pairs": len(pairs),
        "splink_records": len(rep_rows),
        "engine": cfg.engine.name,
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
    return BatchResult(links, used, stats, out_pairs)
