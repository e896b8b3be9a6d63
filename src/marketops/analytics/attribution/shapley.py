"""Shapley values: exact by subset enumeration for small games, permutation sampling above.

The attribution game (Zhao, Mahboobi & Bagheri-Ardebili 2018, "Shapley value methods for
attribution modeling in online advertising", arXiv:1804.05327): a coalition S of channels is worth
the conversions of every journey whose set of channels is contained in S,
v(S) = Σ_{T ⊆ S} w(T). Exact values follow φ_i = Σ_{S ∌ i} |S|!(n−|S|−1)!/n! · (v(S∪{i}) − v(S))
(Shapley 1953); sampling averages marginal contributions over random orders (Castro, Gómez &
Tejada 2009) and reports the standard error of that mean.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import factorial

import numpy as np

Marginals = Callable[[np.ndarray], np.ndarray]  # permutation -> (n, m) marginal contributions


@dataclass(frozen=True)
class ShapleyResult:
    players: list[str]
    values: np.ndarray  # (n, m): one column per weight (e.g. conversions, revenue)
    stderr: np.ndarray  # zeros when exact
    method: str  # "exact" | "sampled"
    samples: int


def shapley_exact(v: np.ndarray) -> np.ndarray:
    """Exact values of a game given as v[mask] (shape (2**n,) or (2**n, m)), v[0] = 0 assumed."""
    v = np.asarray(v, dtype=float)
    flat = v.ndim == 1
    if flat:
        v = v[:, None]
    size = v.shape[0]
    n = size.bit_length() - 1
    if 1 << n != size:
        raise ValueError("v must have 2**n entries")
    masks = np.arange(size)
    pop = np.zeros(size, dtype=int)
    for i in range(n):
        pop += (masks >> i) & 1
    weight = np.array([factorial(k) * factorial(n - k - 1) / factorial(n) for k in range(n)])
    phi = np.zeros((n, v.shape[1]))
    for i in range(n):
        without = masks[(masks >> i) & 1 == 0]
        phi[i] = weight[pop[without]] @ (v[without | (1 << i)] - v[without])
    return phi[:, 0] if flat else phi


def shapley_sampled(
    n: int, marginals: Marginals, samples: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Mean marginal contribution over `samples` random orders, and its standard error."""
    draws = np.stack([marginals(rng.permutation(n)) for _ in range(samples)])
    mean = draws.mean(axis=0)
    se = draws.std(axis=0, ddof=1) / np.sqrt(samples) if samples > 1 else np.zeros_like(mean)
    return mean, se


def marginals_from_v(n: int, v: Callable[[np.ndarray], np.ndarray]) -> Marginals:
    """Marginal contributions along an order, for any game v(bool coalitions (k, n)) -> (k,) or (k, m)."""

    def along(order: np.ndarray) -> np.ndarray:
        prefixes = np.zeros((n + 1, n), dtype=bool)
        for step, player in enumerate(order):
            prefixes[step + 1 :, player] = True
        vals = np.asarray(v(prefixes), dtype=float)
        vals = vals[:, None] if vals.ndim == 1 else vals
        out = np.zeros((n, vals.shape[1]))
        out[order] = vals[1:] - vals[:-1]
        return out

    return along


def subset_game(n: int, coalitions: Sequence[Sequence[int]], weights: np.ndarray) -> np.ndarray:
    """v[mask] = Σ weights of coalitions contained in mask (sum over subsets, O(n·2ⁿ))."""
    weights = np.asarray(weights, dtype=float).reshape(len(coalitions), -1)
    v = np.zeros((1 << n, weights.shape[1]))
    for members, w in zip(coalitions, weights, strict=True):
        v[sum(1 << i for i in members)] += w
    for i in range(n):
        bit = 1 << i
        idx = np.arange(1 << n)
        has = idx[(idx & bit) != 0]
        v[has] += v[has ^ bit]
    return v


def journey_marginals(
    n: int, coalitions: Sequence[Sequence[int]], weights: np.ndarray
) -> Marginals:
    """Fast marginals for the subset game: a journey's worth goes to its member added last."""
    weights = np.asarray(weights, dtype=float).reshape(len(coalitions), -1)
    width = max(len(c) for c in coalitions)
    members = np.full((len(coalitions), width), -1)
    for k, c in enumerate(coalitions):
        members[k, : len(c)] = list(c)
    pad = members < 0

    def along(order: np.ndarray) -> np.ndarray:
        rank = np.empty(n, dtype=int)
        rank[order] = np.arange(n)
        r = np.where(pad, -1, rank[np.where(pad, 0, members)])
        last = members[np.arange(len(members)), r.argmax(axis=1)]
        return np.stack(
            [
                np.bincount(last, weights=weights[:, j], minlength=n)
                for j in range(weights.shape[1])
            ],
            axis=1,
        )

    return along


def attribution_shapley(
    players: list[str],
    coalitions: Sequence[Sequence[int]],
    weights: np.ndarray,
    *,
    exact_max: int = 15,
    samples: int = 2000,
    seed: int = 0,
) -> ShapleyResult:
    """Shapley credit of each channel in the subset game; exact up to `exact_max` players."""
    n = len(players)
    weights = np.asarray(weights, dtype=float)
    if n == 0 or not len(coalitions):
        zero = np.zeros((n, weights.shape[-1] if weights.ndim == 2 else 1))
        return ShapleyResult(players, zero, zero, "exact", 0)
    weights = weights.reshape(len(coalitions), -1)
    if n <= exact_max:
        phi = shapley_exact(subset_game(n, coalitions, weights))
        return ShapleyResult(players, phi, np.zeros_like(phi), "exact", 0)
    rng = np.random.default_rng(seed)
    mean, se = shapley_sampled(n, journey_marginals(n, coalitions, weights), samples, rng)
    return ShapleyResult(players, mean, se, "sampled", samples)
