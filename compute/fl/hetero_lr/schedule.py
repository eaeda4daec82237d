"""The pure parts of Taylor-approximated hetero-LR: parameters, batch schedule, residual, plaintext reference.

With σ(u) ≈ ½ + u/4 (first-order Taylor at 0), the log-loss gradient for labels y ∈ {0, 1}
is Xᵀd/|B| with residual d = ¼·u + ½ − y, u = Σ_parties X_p w_p: linear in every party's
partial score, so it can be formed under additive encryption.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from compute.errors import InvalidInput


@dataclass(frozen=True)
class HeteroLRParams:
    """Training parameters every party agrees on (part of the job's parameter hash)."""

    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 0.3
    l2: float = 0.0
    seed: int = 0
    n_bits: int = 2048
    cipher: str = "fast"  # "fast" (compute.paillier) or "phe" (straightforward baseline)
    obfuscation: str = "fresh"  # "fresh" (default, phe-equivalent), "precomputed", "short-exponent"
    workers: int = 1

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or not self.learning_rate > 0 or self.l2 < 0:
            raise InvalidInput("hetero-LR needs epochs ≥ 1, batch_size ≥ 1, learning_rate > 0, l2 ≥ 0")

    def to_json(self) -> dict[str, object]:
        """The parameters as a JSON-ready dict."""
        return asdict(self)


def batches(rows: int, params: HeteroLRParams) -> Iterator[tuple[int, np.ndarray]]:
    """(epoch, row indices) for every mini-batch, the same at every party (seeded shuffle)."""
    rng = np.random.default_rng(params.seed)
    for epoch in range(params.epochs):
        order = rng.permutation(rows)
        for start in range(0, rows, params.batch_size):
            yield epoch, order[start : start + params.batch_size]


def batch_count(rows: int, params: HeteroLRParams) -> int:
    """How many mini-batches the schedule has."""
    return params.epochs * -(-rows // params.batch_size)


def with_intercept(X: np.ndarray) -> np.ndarray:
    """X with a column of ones (the guest's intercept)."""
    return np.hstack((X, np.ones((X.shape[0], 1))))


def residual_offset(guest_score: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The guest's plaintext part of the residual: ¼·(X_g w_g) + ½ − y."""
    offset: np.ndarray = 0.25 * guest_score + 0.5 - y
    return offset


def reference_training(
    guest: np.ndarray, hosts: Sequence[np.ndarray], y: np.ndarray, params: HeteroLRParams
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The protocol's arithmetic in plaintext (no encryption): what the encrypted run must reproduce."""
    if len(np.unique(y)) != 2 or not set(np.unique(y)) <= {0.0, 1.0}:
        raise InvalidInput("labels must be 0/1 with both classes present")
    Xg = with_intercept(guest)
    wg, whs = np.zeros(Xg.shape[1]), [np.zeros(h.shape[1]) for h in hosts]
    for _, rows in batches(len(y), params):
        u = Xg[rows] @ wg + sum(h[rows] @ w for h, w in zip(hosts, whs))
        d = 0.25 * u + 0.5 - y[rows]
        wg = wg - params.learning_rate * (Xg[rows].T @ d / len(rows) + params.l2 * wg)
        whs = [w - params.learning_rate * (h[rows].T @ d / len(rows) + params.l2 * w) for h, w in zip(hosts, whs)]
    return wg, whs
