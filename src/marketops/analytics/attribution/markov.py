"""Markov-chain attribution by removal effect, solved exactly (no simulation).

Transition counts come from Ibis (so they run where the data lives); the absorbing-chain algebra
runs here in numpy/scipy. With A = I - Q (Q: transient-to-transient probabilities) and r the
one-step conversion probabilities, the conversion probability from every state is x = A⁻¹r
(Kemeny & Snell's fundamental matrix N = A⁻¹). Removing a channel sends every transition into its
states R to the null state; by the block-inverse identity the conversion probability from start
then is  x'_s = x_s − N_sR · N_RR⁻¹ · x_R,  so one inverse serves every channel. Above
`dense_max` states the reduced sparse system A_KK x'_K = r_K is solved per channel instead.
Removal effect: RE_c = 1 − x'_s / x_s (Anderl, Becker, von Wangenheim & Schumann 2016).
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
import scipy.sparse as sp
from ibis.expr.types import Table
from scipy.sparse.linalg import splu

from marketops.analytics.attribution.journeys import SEP

START, CONV, NULL = "(start)", "(conversion)", "(null)"
DENSE_MAX = 4000


@dataclass(frozen=True)
class MarkovResult:
    order: int
    n_states: int
    conversion_probability: float
    removal_effects: dict[str, float]
    shares: dict[str, float]


def transition_counts(journeys: Table, order: int = 1) -> Table:
    """(src, dst, n) over journeys (jid, converted, pos, n, g); states are the last `order` groups."""
    w = ibis.window(group_by="jid", order_by="pos")
    state = journeys.g
    for k in range(1, order):
        state = ibis.coalesce(journeys.g.lag(k).over(w).concat(SEP), "").concat(state)
    j = journeys.mutate(state=state)
    j = j.mutate(prev=ibis.coalesce(j.state.lag(1).over(w), START))
    steps = j.select(src=j.prev, dst=j.state)
    ends = j.filter(j.pos == j.n - 1).select(src=j.state, dst=ibis.ifelse(j.converted, CONV, NULL))
    edges = steps.union(ends)
    return edges.group_by(["src", "dst"]).aggregate(n=edges.count())


def removal_effects(edges: pd.DataFrame, *, dense_max: int = DENSE_MAX) -> MarkovResult:
    """Exact removal effects from a (src, dst, n) edge list; channels are read off the states."""
    transient = sorted((set(edges.src) | set(edges.dst)) - {START, CONV, NULL})
    names = [START, *transient]
    index = {s: i for i, s in enumerate(names)}
    m = len(names)
    src = edges.src.map(index).to_numpy()
    out = np.bincount(src, weights=edges.n.to_numpy(dtype=float), minlength=m)
    out[out == 0] = 1.0  # a state with no exits (cannot happen with complete paths) absorbs to null
    prob = edges.n.to_numpy(dtype=float) / out[src]
    to_conv = (edges.dst == CONV).to_numpy()
    inner = ~edges.dst.isin([CONV, NULL]).to_numpy()
    r = np.bincount(src[to_conv], weights=prob[to_conv], minlength=m)
    q = sp.csc_matrix(
        (prob[inner], (src[inner], edges.dst[inner].map(index).to_numpy())), shape=(m, m)
    )
    a = (sp.identity(m, format="csc") - q).tocsc()
    order = max((s.count(SEP) + 1 for s in transient), default=1)
    members: dict[str, list[int]] = {}
    for s in transient:
        for ch in set(s.split(SEP)):
            members.setdefault(ch, []).append(index[s])
    channels = sorted(members)

    if m <= dense_max:
        n_mat = np.linalg.inv(a.toarray())
        x = n_mat @ r
        base = float(x[0])

        def without(rows: list[int]) -> float:
            nrr = n_mat[np.ix_(rows, rows)]
            return float(x[0] - n_mat[0, rows] @ np.linalg.solve(nrr, x[rows]))

    else:
        x = splu(a).solve(r)
        base = float(x[0])

        def without(rows: list[int]) -> float:
            keep = np.ones(m, dtype=bool)
            keep[rows] = False
            sub = a[keep][:, keep].tocsc()
            return float(splu(sub).solve(r[keep])[0])

    effects: dict[str, float] = {}
    for ch in channels:
        p = without(members[ch]) if base > 0 else 0.0
        effects[ch] = 0.0 if base <= 0 else min(1.0, max(0.0, 1.0 - p / base))
    total = sum(effects.values())
    shares = {c: (e / total if total > 0 else 0.0) for c, e in effects.items()}
    return MarkovResult(order, len(transient), base, effects, shares)
