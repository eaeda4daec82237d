"""Differential privacy for FedAvg: clip, encode, add discrete Gaussian noise shares, account ρ-zCDP.

Mechanism. A client clips its round update to L2 norm C, encodes it in fixed point (2^F
units, F = the FedAvg fraction bits) and, for every sum it joins, adds a fresh share of
discrete Gaussian noise N_Z(0, σ_s²) per coordinate from `compute.dp` (exact, drawn from
`secrets`). A sum with threshold t (at least t inputs, else nothing is released) gets shares of
σ_s² = (σ·C·2^F)²/(t − 1) (σ² for a singleton): whoever knows one share (a client, its own)
still faces the others' t − 1 shares, total variance (σ·C·2^F)², and the aggregator, who
knows none, faces more. So each release that involves a client is, towards every single
party, the Gaussian mechanism with noise multiplier σ on an L2 sensitivity of
Δ = C·2^F + √d/2 (clipping, then rounding each coordinate by at most ½).

Neighbouring runs differ in one client's updates (zero-out: replaced by zeros; membership
is public). Accounting: each release is ρ = Δ²/(2σ_eff²)-zCDP (plus Kairouz et al.'s
negligible term for sums of discrete Gaussians), ρ adds up over every release a client is
in (training rounds and every coalition sum of the contribution phase), and the reported
(ε, δ) is the worst client's, converted as in `compute.dp.accounting`. Client sampling would
amplify privacy; it is ignored, so the figure is an upper bound. Assumes clients add their
shares (one that omits its share weakens the guarantee towards the others by that share).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from fractions import Fraction

import numpy as np

from compute.dp import discrete_gaussian_vector, epsilon_from_rho, gaussian_sum_rho
from compute.errors import InvalidInput


@dataclass(frozen=True)
class DPParams:
    """Clipping norm C, noise multiplier σ, target δ."""

    clip_norm: float = 1.0
    noise_multiplier: float = 1.0
    delta: float = 1e-5

    def __post_init__(self) -> None:
        if not (self.clip_norm > 0 and self.noise_multiplier > 0 and 0 < self.delta < 1):
            raise InvalidInput("DP needs clip_norm > 0, noise_multiplier > 0 and 0 < delta < 1")

    def to_json(self) -> dict[str, float]:
        """The parameters as a dict."""
        return asdict(self)


def clip(update: np.ndarray, clip_norm: float) -> np.ndarray:
    """The update scaled down to L2 norm ≤ clip_norm."""
    norm = float(np.linalg.norm(update))
    return update if norm <= clip_norm else update * (clip_norm / norm)


def share_variance(params: DPParams, threshold: int, fraction_bits: int) -> Fraction:
    """σ_s² in fixed-point units for one party's share in a sum of at least `threshold` inputs."""
    total = Fraction(params.noise_multiplier) * Fraction(params.clip_norm) * (1 << fraction_bits)
    return total * total / max(threshold - 1, 1)


def noise_share(size: int, params: DPParams, threshold: int, fraction_bits: int) -> np.ndarray:
    """One party's fresh noise share for a sum of at least `threshold` inputs: N_Z(0, σ_s²) per coordinate."""
    return discrete_gaussian_vector(share_variance(params, threshold, fraction_bits), size)


def release_rho(params: DPParams, dims: int, threshold: int, fraction_bits: int) -> float:
    """ρ (zCDP) that one noisy sum of at least `threshold` inputs costs each client in it, towards any one party."""
    sensitivity = params.clip_norm * (1 << fraction_bits) + math.sqrt(dims) / 2
    unknown = max(threshold - 1, 1)
    return gaussian_sum_rho(sensitivity, float(share_variance(params, threshold, fraction_bits)), unknown, dims)


def epsilon(params: DPParams, rho: float) -> float:
    """The (ε, δ = params.delta) that a total of ρ-zCDP gives."""
    return epsilon_from_rho(rho, params.delta)
