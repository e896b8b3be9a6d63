"""Shapley values against textbook games, the efficiency axiom, and sampling against exact."""

from __future__ import annotations

import numpy as np
import pytest
from attribution_helpers import backend, conversion, credit, run, touch

from marketops.analytics.attribution.shapley import (
    attribution_shapley,
    marginals_from_v,
    shapley_exact,
    shapley_sampled,
    subset_game,
)


def _game(n: int, fn) -> np.ndarray:
    return np.array([fn({i for i in range(n) if m >> i & 1}) for m in range(1 << n)], float)


def test_glove_game():
    # Glove game (e.g. Wikipedia "Shapley value", glove game; Osborne & Rubinstein 1994, ex. 259.1
    # style): player 0 holds a left glove, 1 and 2 right gloves; a pair is worth 1.
    # Known values: 2/3, 1/6, 1/6.
    v = _game(3, lambda s: 1.0 if 0 in s and s & {1, 2} else 0.0)
    assert shapley_exact(v) == pytest.approx([2 / 3, 1 / 6, 1 / 6])


@pytest.mark.parametrize("k", [1, 3, 6])
def test_owner_and_workers(k):
    # Wikipedia "Shapley value", business example: an owner (player 0) and k workers, each worker
    # adds p = 1 only with the owner. Known values: owner k/2, each worker 1/2.
    v = _game(k + 1, lambda s: float(len(s) - 1) if 0 in s else 0.0)
    phi = shapley_exact(v)
    assert phi[0] == pytest.approx(k / 2)
    assert phi[1:] == pytest.approx([0.5] * k)


def test_efficiency_symmetry_and_dummy_on_random_game():
    rng = np.random.default_rng(3)
    n = 7
    v = rng.random(1 << n) * 10
    v[0] = 0
    # make player 6 a dummy: adding it changes nothing
    for m in range(1 << n):
        if m >> 6 & 1:
            v[m] = v[m ^ (1 << 6)]
    phi = shapley_exact(v)
    assert phi.sum() == pytest.approx(v[-1] - v[0])
    assert phi[6] == pytest.approx(0.0, abs=1e-12)


def test_sampled_values_are_within_their_standard_error():
    v_fn = lambda b: (b[:, 0] & (b[:, 1] | b[:, 2])).astype(float)  # the glove game  # noqa: E731
    mean, se = shapley_sampled(3, marginals_from_v(3, v_fn), 4000, np.random.default_rng(5))
    exact = np.array([2 / 3, 1 / 6, 1 / 6])
    assert np.all(np.abs(mean[:, 0] - exact) < 4 * se[:, 0])
    assert np.all(se > 0)


def test_attribution_game_splits_each_journey_equally():
    # v(S) = conversions of journeys whose channel set lies within S: by linearity each journey's
    # conversions go equally to its distinct channels (Zhao et al. 2018).
    coalitions = [(0,), (0, 1), (1, 2, 3)]
    weights = np.array([[2, 20.0], [1, 10.0], [3, 30.0]])
    r = attribution_shapley(list("abcd"), coalitions, weights)
    assert r.method == "exact"
    assert r.values[:, 0] == pytest.approx([2 + 0.5, 0.5 + 1, 1, 1])
    assert r.values[:, 1] == pytest.approx([25, 15, 10, 10])
    assert subset_game(4, coalitions, weights)[-1] == pytest.approx([6, 60])


def test_sampling_above_the_exact_limit_reports_standard_error():
    rng = np.random.default_rng(1)
    n = 18
    coalitions = [
        tuple(sorted(rng.choice(n, size=int(rng.integers(1, 5)), replace=False))) for _ in range(60)
    ]
    weights = rng.integers(1, 5, size=(60, 1)).astype(float)
    exact = np.zeros(n)
    for c, w in zip(coalitions, weights[:, 0], strict=True):
        exact[list(c)] += w / len(c)
    r = attribution_shapley(
        [f"c{i}" for i in range(n)], coalitions, weights, exact_max=15, samples=1500, seed=2
    )
    assert r.method == "sampled" and r.samples == 1500
    assert r.values[:, 0].sum() == pytest.approx(weights.sum())  # every order is efficient
    z = np.abs(r.values[:, 0] - exact) / np.maximum(r.stderr[:, 0], 1e-12)
    assert np.all((z < 5) | (r.stderr[:, 0] == 0))


def test_shapley_end_to_end():
    touches = [touch("a", 1, "x"), touch("a", 2, "y"), touch("a", 3, "x"), touch("b", 1, "y")]
    con = backend(touches, [conversion("ca", "a", 4), conversion("cb", "b", 2)])
    # journey a: {x, y} -> 0.5 each; journey b: {y} -> 1
    assert credit(run(con, models=["shapley"]), "shapley") == pytest.approx({"x": 0.5, "y": 1.5})
    con.disconnect()
