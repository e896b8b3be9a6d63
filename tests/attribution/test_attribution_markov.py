"""Markov removal effects: a published worked example, hand cases, and a Monte-Carlo cross-check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from attribution_helpers import backend, conversion, credit, run, touch

from marketops.analytics.attribution.markov import CONV, NULL, START, removal_effects

# The three-path example of S. Bryl, "Marketing Multi-Channel Attribution model with R (part 1:
# Markov chains concept)", analyzecore.com, 2016-08-03 (also used to illustrate Anderl et al. 2016):
# C1 > C2 > C3 > conversion, C1 > null, C2 > C3 > null. The post derives P(conversion) = 1/3,
# removal effects C1 = 0.5, C2 = 1, C3 = 1 and hence shares 0.2 / 0.4 / 0.4.
ANALYZECORE = pd.DataFrame(
    [
        (START, "C1", 2),
        (START, "C2", 1),
        ("C1", "C2", 1),
        ("C1", NULL, 1),
        ("C2", "C3", 2),
        ("C3", CONV, 1),
        ("C3", NULL, 1),
    ],
    columns=["src", "dst", "n"],
)


@pytest.mark.parametrize("dense_max", [10_000, 0], ids=["dense", "sparse"])
def test_published_three_path_example(dense_max):
    r = removal_effects(ANALYZECORE, dense_max=dense_max)
    assert r.conversion_probability == pytest.approx(1 / 3)
    assert r.removal_effects == pytest.approx({"C1": 0.5, "C2": 1.0, "C3": 1.0})
    assert r.shares == pytest.approx({"C1": 0.2, "C2": 0.4, "C3": 0.4})


def test_published_example_end_to_end_through_ibis():
    touches = [
        touch("u1", 1, "C1"),
        touch("u1", 2, "C2"),
        touch("u1", 3, "C3"),
        touch("u2", 1, "C1"),
        touch("u3", 1, "C2"),
        touch("u3", 2, "C3"),
    ]
    con = backend(touches, [conversion("k1", "u1", 4)])
    r = run(con, models=["markov"])
    assert credit(r, "markov") == pytest.approx({"C1": 0.2, "C2": 0.4, "C3": 0.4})
    con.disconnect()


def test_second_order_remembers_where_the_journey_came_from():
    # A > B converts, C > B does not. First order cannot tell the two B's apart; second order can.
    touches = [touch("u1", 1, "A"), touch("u1", 2, "B"), touch("u2", 1, "C"), touch("u2", 2, "B")]
    con = backend(touches, [conversion("k", "u1", 3)])
    # order 1: P = 1/2; without A or C: 1/4 (RE 1/2 each); without B: 0 (RE 1) -> 1/4, 1/2, 1/4
    assert credit(run(con, models=["markov"]), "markov") == pytest.approx(
        {"A": 0.25, "B": 0.5, "C": 0.25}
    )
    # order 2: states A, A>B, C, C>B; only A>B converts: RE A = B = 1, C = 0
    r2 = run(con, models=["markov"], markov_order=2)
    assert credit(r2, "markov") == pytest.approx({"A": 0.5, "B": 0.5})
    assert r2.markov.order == 2 and r2.markov.n_states == 4
    con.disconnect()


def _random_graph(rng: np.random.Generator, k: int) -> pd.DataFrame:
    names = [f"s{i}" for i in range(k)]
    rows = [(START, n, int(rng.integers(1, 20))) for n in names]
    for a in names:
        for b in [*names, CONV, NULL]:
            if rng.random() < 0.5 or b == NULL:
                rows.append((a, b, int(rng.integers(1, 30))))
    return pd.DataFrame(rows, columns=["src", "dst", "n"])


def test_dense_and_sparse_solvers_agree():
    edges = _random_graph(np.random.default_rng(7), 25)
    a, b = removal_effects(edges), removal_effects(edges, dense_max=0)
    assert a.conversion_probability == pytest.approx(b.conversion_probability, rel=1e-10)
    assert a.removal_effects == pytest.approx(b.removal_effects, rel=1e-8)


def test_exact_solution_matches_monte_carlo_random_walks():
    rng = np.random.default_rng(11)
    edges = _random_graph(rng, 5)
    exact = removal_effects(edges)
    states = [START] + [f"s{i}" for i in range(5)] + [CONV, NULL]
    idx = {s: i for i, s in enumerate(states)}
    p = np.zeros((len(states), len(states)))
    for row in edges.itertuples():
        p[idx[row.src], idx[row.dst]] += row.n
    p /= np.maximum(p.sum(axis=1, keepdims=True), 1)
    cum = p.cumsum(axis=1)
    walks = 200_000
    pos = np.zeros(walks, dtype=int)
    visited = np.zeros((walks, len(states)), dtype=bool)
    alive = np.ones(walks, dtype=bool)
    for _ in range(200):  # walks end long before this; a few may loop, they count as null
        u = rng.random(walks)
        nxt = (u[:, None] > cum[pos]).sum(axis=1)
        pos = np.where(alive, nxt, pos)
        visited[np.arange(walks), pos] |= alive
        alive &= (pos != idx[CONV]) & (pos != idx[NULL])
        if not alive.any():
            break
    converted = pos == idx[CONV]
    base = converted.mean()
    se = np.sqrt(base * (1 - base) / walks)
    assert base == pytest.approx(exact.conversion_probability, abs=4 * se)
    for ch, effect in exact.removal_effects.items():
        # removing a channel = the walks that converted without ever visiting it
        without = (converted & ~visited[:, idx[ch]]).mean()
        assert 1 - without / base == pytest.approx(effect, abs=0.02)
