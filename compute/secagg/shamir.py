"""Shamir secret sharing over the prime field GF(2^521 − 1).

Security assumption: fewer than `threshold` shares reveal nothing about the secret
(information-theoretic); any `threshold` of them recover it. Pure functions, no I/O;
randomness from `secrets`. The field holds any 32-byte secret (keys, seeds) as one element.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping

PRIME = (1 << 521) - 1


def split(secret: int, xs: Iterable[int], threshold: int) -> dict[int, int]:
    """Shares {x: f(x)} of `secret` for each x ≠ 0, from a random polynomial of degree threshold − 1."""
    if not 0 <= secret < PRIME:
        raise ValueError("secret outside the field")
    points = list(xs)
    if threshold < 1 or threshold > len(points) or 0 in points or len(set(points)) != len(points):
        raise ValueError(f"need 1 ≤ threshold ≤ {len(points)} distinct non-zero points")
    coefficients = [secret] + [secrets.randbelow(PRIME) for _ in range(threshold - 1)]
    shares = {}
    for x in points:
        y = 0
        for c in reversed(coefficients):
            y = (y * x + c) % PRIME
        shares[x] = y
    return shares


def combine(shares: Mapping[int, int]) -> int:
    """The secret from shares {x: y} (Lagrange interpolation at 0); needs at least `threshold` of them."""
    secret = 0
    for xi, yi in shares.items():
        num, den = 1, 1
        for xj in shares:
            if xj != xi:
                num = num * -xj % PRIME
                den = den * (xi - xj) % PRIME
        secret = (secret + yi * num * pow(den, -1, PRIME)) % PRIME
    return secret
