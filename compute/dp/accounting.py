"""Privacy accounting: zero-concentrated DP (ρ-zCDP) composed over releases, converted to (ε, δ).

A Gaussian release with L2 sensitivity Δ and noise N(0, σ²) per coordinate is Δ²/(2σ²)-zCDP
(Bun & Steinke 2016). For a sum of m independent discrete Gaussians N_Z(0, σ_s²) (the noise
shares of m parties the observer does not know) Kairouz, Liu & Steinke 2021 (Theorem 2) add
τ·d/4 with τ = 10·Σ_{k=1}^{m−1} exp(−2π²σ_s²·k/(k+1)), which vanishes for the scales we use
(σ_s ≥ 2^10 integer units). ρ adds up over releases (composition). Conversion to (ε, δ) is
Canonne, Kamath & Steinke 2020 (Proposition 12), the same formula as Google's dp-accounting
RDP accountant, minimised over a fine grid of Rényi orders α:
    ε = min_α  αρ + (ln(1/δ) − ln α)/(α − 1) + ln((α − 1)/α).
"""

from __future__ import annotations

import math

import numpy as np

_ORDERS = np.concatenate([1 + np.geomspace(1e-3, 1e4, 4000)])


def gaussian_sum_rho(sensitivity: float, share_sigma2: float, unknown_shares: int, dims: int) -> float:
    """ρ of one release: a vector with L2 sensitivity Δ plus `unknown_shares` N_Z(0, σ_s²) shares per coordinate."""
    if sensitivity < 0 or share_sigma2 <= 0 or unknown_shares < 1 or dims < 1:
        raise ValueError("need Δ ≥ 0, σ_s² > 0, at least one unknown noise share and one dimension")
    tau = 10 * sum(math.exp(-2 * math.pi**2 * share_sigma2 * k / (k + 1)) for k in range(1, min(unknown_shares, 64)))
    return sensitivity**2 / (2 * unknown_shares * share_sigma2) + tau * dims / 4


def epsilon_from_rho(rho: float, delta: float) -> float:
    """The ε of (ε, δ)-DP that ρ-zCDP implies (CKS 2020 Prop. 12, minimised over α)."""
    if rho < 0 or not 0 < delta < 1:
        raise ValueError("need ρ ≥ 0 and 0 < δ < 1")
    if rho == 0:
        return 0.0
    a = _ORDERS
    eps = a * rho + (math.log(1 / delta) - np.log(a)) / (a - 1) + np.log((a - 1) / a)
    return float(max(np.min(eps), 0.0))
