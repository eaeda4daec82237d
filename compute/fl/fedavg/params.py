"""FedAvg's agreed parameters, client sampling, model hashing and coalition reconstruction (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from eth_utils import keccak

from compute.contribution.shapley import EXACT_LIMIT
from compute.errors import InvalidInput
from compute.fl.dp import DPParams
from compute.fl.models import LogisticModel, MLPModel, Model


@dataclass(frozen=True)
class FedAvgParams:
    """Rounds, local training, sampling, model, optional DP: every party runs with the same values."""

    rounds: int = 20
    local_epochs: int = 1
    learning_rate: float = 0.1
    batch_size: int = 32
    clients_per_round: int | None = None  # None: every client, every round
    model: str = "logistic"  # "logistic" or "mlp"
    hidden: int = 16
    seed: int = 0
    dp: DPParams | None = DPParams()  # None: no noise, no ε (then contribution must be off)
    contribution: bool = True  # rebuild coalition models from noisy coalition sums for Shapley scores
    replica_tolerance: float = 0.005  # utility difference under which two sources count as replicas
    stage_timeout: float = 10.0  # secure aggregation: seconds a stage waits before dropping a client

    def __post_init__(self) -> None:
        if isinstance(self.dp, Mapping):  # from a JSON parameter document
            try:
                object.__setattr__(self, "dp", DPParams(**self.dp))
            except TypeError as exc:
                raise InvalidInput(f"malformed dp parameters: {exc}") from None
        if self.contribution and self.dp is None:
            raise InvalidInput(
                "contribution scores need dp: without noise, the difference of two coalition sums"
                " (e.g. S(0,1,2) − S(1,2)) is one client's update; set dp or contribution=False"
            )
        if self.rounds < 1 or self.local_epochs < 1 or self.batch_size < 1 or not self.learning_rate > 0:
            raise InvalidInput("FedAvg needs rounds, local_epochs, batch_size ≥ 1 and learning_rate > 0")
        if self.model not in ("logistic", "mlp"):
            raise InvalidInput(f"model must be 'logistic' or 'mlp', not {self.model!r}")
        if self.clients_per_round is not None and self.clients_per_round < 1:
            raise InvalidInput("clients_per_round must be ≥ 1")

    def build_model(self, features: int) -> Model:
        """The model these parameters name."""
        return LogisticModel(features) if self.model == "logistic" else MLPModel(features, self.hidden)

    def sampled(self, round_index: int, clients: Sequence[str]) -> list[str]:
        """The clients taking part in a round (seeded, identical at every party), in roster order."""
        count = len(clients) if self.clients_per_round is None else min(self.clients_per_round, len(clients))
        chosen = set(
            np.random.default_rng([self.seed, round_index]).choice(len(clients), size=count, replace=False).tolist()
        )
        return [c for i, c in enumerate(clients) if i in chosen]

    def to_json(self) -> dict[str, object]:
        """JSON-ready parameters."""
        return {
            "rounds": self.rounds,
            "local_epochs": self.local_epochs,
            "learning_rate": self.learning_rate,
            "batch_size": self.batch_size,
            "clients_per_round": self.clients_per_round,
            "model": self.model,
            "hidden": self.hidden,
            "seed": self.seed,
            "dp": self.dp.to_json() if self.dp else None,
            "contribution": self.contribution,
            "replica_tolerance": self.replica_tolerance,
        }


def model_hash(parameters: np.ndarray) -> bytes:
    """keccak256 of the parameters as big-endian float64: a round's (or the result's) model hash."""
    return keccak(b"custos/fedavg/model/v1" + np.asarray(parameters, dtype=">f8").tobytes())


def coalitions(clients: int) -> list[tuple[int, ...]]:
    """The coalitions whose models are reconstructed: all of them up to EXACT_LIMIT clients, else the
    grand coalition and each leave-one-out coalition. Each is a noisy release per round for its members
    (compute/fl/dp.py): 2^(n−1) per client and round up to EXACT_LIMIT, n beyond."""
    if clients <= EXACT_LIMIT:
        return [c for k in range(1, clients + 1) for c in combinations(range(clients), k)]
    everyone = tuple(range(clients))
    return [everyone, *(tuple(j for j in everyone if j != i) for i in everyone)]


def reconstruct(initial: np.ndarray, round_sums: Sequence[tuple[np.ndarray | None, int]]) -> np.ndarray:
    """A coalition's model replayed from its members' recorded round updates (gradient-based Shapley, Song et al. 2019):
    each round adds the mean update of the coalition's members that took part, none if none did."""
    model = initial.copy()
    for total, members in round_sums:
        if total is not None and members:
            model = model + total / members
    return model
