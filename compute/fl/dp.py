"""Differential privacy for FedAvg: clip each client's update, add Gaussian noise, account ε.

Each sampled client clips its update to L2 norm C and adds N(0, σ²C²/m) per coordinate (m =
clients per round), so the secure sum carries N(0, σ²C²): the Gaussian mechanism on the sum,
whose sensitivity to adding or removing one client is C. Accounting: Rényi DP of the
Gaussian mechanism, α/(2σ²) per round, composed over rounds and converted with
ε = min_α [T·α/(2σ²) + ln(1/δ)/(α−1)] (Mironov 2017). Client sampling would amplify privacy;
it is ignored, so the reported ε is an upper bound. Assumes honest clients add their share of
the noise (a client that drops its noise weakens the guarantee by its share).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from compute.errors import InvalidInput

_ORDERS = [1.25, 1.5, 1.75, 2, 2.5, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64, 96, 128, 256, 512]


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


def noise_share(size: int, params: DPParams, clients_per_round: int, rng: np.random.Generator) -> np.ndarray:
    """One client's share of the round's noise: N(0, σ²C²/m) per coordinate."""
    return rng.normal(scale=params.noise_multiplier * params.clip_norm / math.sqrt(clients_per_round), size=size)


def epsilon(params: DPParams, rounds: int) -> float:
    """(ε, δ)-DP spent by `rounds` noisy sums (RDP accounting, no sampling amplification)."""
    if rounds < 0:
        raise InvalidInput("rounds must be ≥ 0")
    if rounds == 0:
        return 0.0
    sigma2 = params.noise_multiplier**2
    return min(rounds * a / (2 * sigma2) + math.log(1 / params.delta) / (a - 1) for a in _ORDERS)
