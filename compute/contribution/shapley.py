"""Shapley values of data sources: exact, truncated Monte Carlo with an error bound, leave-one-out.

φ_i = Σ_{S ⊆ N∖{i}} |S|!(n−|S|−1)!/n! · (v(S∪{i}) − v(S)): the unique split that is efficient
(Σφ = v(N) − v(∅)), symmetric, gives null players zero and is additive in v.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from compute.errors import InvalidInput

Utility = Callable[[Iterable[int]], float]
EXACT_LIMIT = 8


def exact_shapley(sources: int, utility: Utility, limit: int = EXACT_LIMIT) -> np.ndarray:
    """Exact Shapley values over all 2^n coalitions (utility is called once per coalition if cached)."""
    if not 1 <= sources <= limit:
        raise InvalidInput(f"exact Shapley is for 1..{limit} sources, not {sources}; use monte_carlo_shapley")
    values = [utility([i for i in range(sources) if mask >> i & 1]) for mask in range(1 << sources)]
    weights = [math.factorial(k) * math.factorial(sources - k - 1) / math.factorial(sources) for k in range(sources)]
    phi = np.zeros(sources)
    for mask in range(1 << sources):
        size = mask.bit_count()
        for i in range(sources):
            if not mask >> i & 1:
                phi[i] += weights[size] * (values[mask | 1 << i] - values[mask])
    return phi


@dataclass(frozen=True)
class MonteCarloEstimate:
    """Estimated Shapley values and how far they may be from the exact ones."""

    values: np.ndarray
    error_bound: float  # max_i |φ̂_i − φ_i| ≤ error_bound with probability ≥ confidence (see docstring)
    confidence: float
    permutations: int
    evaluations: int
    seed: int


def monte_carlo_shapley(
    sources: int,
    utility: Utility,
    *,
    permutations: int = 200,
    truncation: float = 0.0,
    bounds: tuple[float, float] = (0.0, 1.0),
    confidence: float = 0.95,
    seed: int | None = None,
) -> MonteCarloEstimate:
    """Permutation sampling with truncation (TMC-Shapley, Ghorbani & Zou 2019).

    Each permutation adds sources in order; once the prefix's utility is within `truncation`
    of v(N), later marginals count as 0. Error bound: Hoeffding over marginals in
    [−(hi−lo), hi−lo] with a union bound over the n sources, ε = 2(hi−lo)·√(ln(2n/δ)/(2m)),
    plus `truncation` (the most a truncated tail can add for a monotone utility).
    """
    if sources < 1 or permutations < 1 or truncation < 0 or not 0 < confidence < 1 or bounds[1] <= bounds[0]:
        raise InvalidInput(
            "Monte Carlo Shapley needs sources ≥ 1, permutations ≥ 1, truncation ≥ 0, 0 < confidence < 1, lo < hi"
        )
    seed = secrets.randbits(63) if seed is None else seed
    rng = np.random.default_rng(seed)
    everyone, empty = utility(range(sources)), utility([])
    totals, calls = np.zeros(sources), 2
    for _ in range(permutations):
        order, prefix, previous = rng.permutation(sources), [], empty
        for i in order:
            if abs(everyone - previous) < truncation:
                break  # the rest of this permutation adds (almost) nothing
            prefix.append(int(i))
            current = utility(prefix)
            calls += 1
            totals[i] += current - previous
            previous = current
    width = 2 * (bounds[1] - bounds[0])
    epsilon = width * math.sqrt(math.log(2 * sources / (1 - confidence)) / (2 * permutations)) + truncation
    return MonteCarloEstimate(totals / permutations, epsilon, confidence, permutations, calls, seed)


def leave_one_out(sources: int, utility: Utility) -> np.ndarray:
    """v(N) − v(N∖{i}) for every source: n + 1 evaluations, no fairness axioms beyond null players."""
    everyone = utility(range(sources))
    return np.array([everyone - utility([j for j in range(sources) if j != i]) for i in range(sources)])
