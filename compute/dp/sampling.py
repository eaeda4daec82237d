"""Exact samplers for discrete Laplace and discrete Gaussian noise from a cryptographic source.

Canonne, Kamath and Steinke, "The Discrete Gaussian for Differential Privacy" (NeurIPS 2020),
Algorithms 1–3: Bernoulli(exp(−γ)) for rational γ, the discrete Laplace Lap_Z(t/s) and the
discrete Gaussian N_Z(0, σ²) for rational σ², using only integer arithmetic and exact
rationals, so no floating-point artefact can leak (Mironov 2012). Every random bit comes from
`secrets` (the OS CSPRNG), never from a seeded generator. Running time depends on the sampled
value (a timing side channel the paper discusses); the samplers run where only their own
party observes them.
"""

from __future__ import annotations

import secrets
from fractions import Fraction

import numpy as np


def bernoulli(p: Fraction) -> bool:
    """True with probability p (0 ≤ p ≤ 1, rational)."""
    return secrets.randbelow(p.denominator) < p.numerator


def bernoulli_exp(gamma: Fraction) -> bool:
    """True with probability exp(−γ), γ ≥ 0 rational (CKS Algorithm 1)."""
    return _bernoulli_exp(gamma.numerator, gamma.denominator)


def _bernoulli_exp(num: int, den: int) -> bool:
    """exp(−num/den) as integers only (Fractions would normalise by a gcd at every step)."""
    while num > den:  # exp(−γ) = exp(−1)^⌊γ⌋ · exp(−(γ − ⌊γ⌋))
        if not _bernoulli_exp(1, 1):
            return False
        num -= den
    k = 1
    while secrets.randbelow(den * k) < num:  # Bernoulli(γ/k)
        k += 1
    return k % 2 == 1


def _geometric_exp_minus_one() -> int:
    v = 0
    while _bernoulli_exp(1, 1):
        v += 1
    return v


def discrete_laplace(scale: Fraction) -> int:
    """One draw from Lap_Z(scale): P(x) ∝ exp(−|x|/scale) on the integers (CKS Algorithm 2)."""
    if scale <= 0:
        raise ValueError("the scale must be positive")
    return _discrete_laplace(scale.numerator, scale.denominator)


def _discrete_laplace(t: int, s: int) -> int:
    """Lap_Z(t/s)."""
    while True:
        u = secrets.randbelow(t)
        if not _bernoulli_exp(u, t):
            continue
        y = (u + t * _geometric_exp_minus_one()) // s
        negative = secrets.randbits(1) == 1
        if negative and y == 0:
            continue
        return -y if negative else y


def discrete_gaussian(sigma2: Fraction) -> int:
    """One draw from N_Z(0, σ²): P(x) ∝ exp(−x²/(2σ²)) on the integers (CKS Algorithm 3)."""
    if sigma2 <= 0:
        raise ValueError("the variance parameter must be positive")
    num, den = sigma2.numerator, sigma2.denominator
    t = _isqrt_floor(sigma2) + 1
    while True:
        y = _discrete_laplace(t, 1)
        # γ = (|y| − σ²/t)² / (2σ²) = (|y|·t·den − num)² / (2·t²·den·num)
        excess = abs(y) * t * den - num
        if _bernoulli_exp(excess * excess, 2 * t * t * den * num):
            return y


def discrete_gaussian_vector(sigma2: Fraction, size: int) -> np.ndarray:
    """`size` independent N_Z(0, σ²) draws as int64."""
    return np.array([discrete_gaussian(sigma2) for _ in range(size)], dtype=np.int64)


def _isqrt_floor(value: Fraction) -> int:
    """⌊√value⌋ for a non-negative rational, exactly."""
    root = int(np.sqrt(float(value)))  # a first guess, then corrected exactly
    while root * root > value:
        root -= 1
    while (root + 1) * (root + 1) <= value:
        root += 1
    return root
