"""Distributed Laplace noise for differential privacy: each of n parties adds a share of it.

Each party adds G1 − G2 with G1, G2 ~ Gamma(1/n, b); the sum over n parties is Laplace(b)
(the Laplace distribution is infinitely divisible), so no single party knows the total noise.
Shares are rounded to the fixed-point grid, which perturbs the distribution by at most
n·2^-(f+1) — noted, not hidden.
"""

from __future__ import annotations

import random

_rng = random.SystemRandom()


def laplace_share(scale: float, parties: int) -> float:
    """One party's share of Laplace(scale) noise split among `parties`."""
    if scale <= 0:
        return 0.0
    shape = 1.0 / parties
    return _rng.gammavariate(shape, scale) - _rng.gammavariate(shape, scale)
