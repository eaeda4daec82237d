"""Differential-privacy noise for secure statistics that holds against every single party.

Each of the n parties adds its own full discrete Laplace noise Lap_Z(b) (compute.dp, exact,
drawn from `secrets`) to each of its local aggregates before sharing them. The receiver
sees the total, true + N_1 + … + N_n, and knows only its own N_r: what it learns is
true + (the n − 1 other parties' noise), at least one full Lap_Z(b) convolved with
independent noise, which is ε = Δ/b differentially private (post-processing of the Laplace
mechanism). Any other party sees only uniformly random shares. Splitting one Laplace into
n shares (as Gamma differences) would not do: the receiver could subtract its own share and
face only (n − 1)/n of the noise, which for pure ε-DP loses everything near zero. The price
is n times the variance of a central Laplace(b).
"""

from __future__ import annotations

from fractions import Fraction

from compute.dp import discrete_laplace


def party_noise(scale: Fraction) -> int:
    """One party's noise for an aggregate with Laplace scale `scale` (in encoded units); 0 if the scale is 0."""
    return 0 if scale == 0 else discrete_laplace(scale)
