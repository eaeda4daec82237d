"""The FedAvg aggregator: sends each round's global model, sums masked updates, scores contributions.

It sees only pairwise-masked updates; their sum is the round's aggregate. The model hash of
every round goes into the transcript (in the next round's model message and the final one).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from compute.channel import Channel
from compute.contribution import ContributionReport, UtilityTable, robust_shapley
from compute.contribution.shapley import EXACT_LIMIT, leave_one_out
from compute.errors import ProtocolViolation
from compute.fl.dp import epsilon
from compute.fl.fedavg.client import COALITION_UPDATES, FINAL_MODEL, GLOBAL_MODEL, MASKED_UPDATE, encode_model
from compute.fl.fedavg.params import FedAvgParams, coalitions, model_hash, reconstruct
from compute.fl.pairwise_masking import unmask_sum
from compute.party import Address
from compute.session import Role, RoleOutput

Scorer = Callable[[np.ndarray], float]


def _vectors(data: bytes, sender: str, step: str, size: int, count: int) -> list[np.ndarray]:
    if len(data) != 8 * size * count:
        raise ProtocolViolation(sender, step, f"{len(data)} bytes, expected {count} vectors of {size}")
    flat = np.frombuffer(data, dtype=np.uint64)
    return [flat[i * size:(i + 1) * size] for i in range(count)]


def _contribution(ch: Channel, clients: list[Address], params: FedAvgParams, initial: np.ndarray,
                  score: Scorer, metric: str, owners: list[str]) -> ContributionReport:
    size, groups = initial.size, coalitions(len(clients))
    received = {}
    for k, client in enumerate(clients):
        rounds = [t for t in range(params.rounds) if client in params.sampled(t, clients)]
        entries = [(c, t) for c in groups if k in c for t in rounds]
        received[client] = dict(zip(entries, _vectors(ch.recv(client, COALITION_UPDATES), client, COALITION_UPDATES, size, len(entries))))
    utilities = {frozenset(): score(initial)}
    for coalition in groups:
        round_sums = []
        for t in range(params.rounds):
            members = [a for a in params.sampled(t, clients) if clients.index(a) in coalition]
            total = unmask_sum([received[a][(coalition, t)] for a in members]) if members else None
            round_sums.append((total, len(members)))
        utilities[frozenset(coalition)] = score(reconstruct(initial, round_sums))
    table = UtilityTable(tuple(clients), metric, utilities)
    if len(clients) <= EXACT_LIMIT:
        robust = robust_shapley(len(clients), table, tol=params.replica_tolerance, owners=owners)
        return ContributionReport.build(table, "shapley-replication-robust", robust.values, robust.error_bound,
                                        replica_groups=[list(g) for g in robust.groups])
    return ContributionReport.build(table, "leave-one-out", leave_one_out(len(clients), table))


def server_role(clients: list[Address], params: FedAvgParams, features: int, score: Scorer, metric: str,
                owners: list[str]) -> Role:
    """The aggregator; `score(model)` measures a model on the requester's validation set."""
    model_spec = params.build_model(features)

    def role(ch: Channel) -> RoleOutput:
        initial = model_spec.init(params.seed)
        model, round_hashes = initial.copy(), []
        for t in range(params.rounds):
            sampled = params.sampled(t, clients)
            for client in sampled:
                ch.send(client, GLOBAL_MODEL, encode_model(t, model))
            masked = [_vectors(ch.recv(c, MASKED_UPDATE), c, MASKED_UPDATE, model.size, 1)[0] for c in sampled]
            model = model + unmask_sum(masked) / len(sampled)  # equal weights: row counts are self-reported
            round_hashes.append(model_hash(model).hex())
        report = _contribution(ch, clients, params, initial, score, metric, owners) if params.contribution else None
        spent = epsilon(params.dp, params.rounds) if params.dp else None
        summary = {"round_model_hashes": round_hashes, "epsilon": spent,
                   "delta": params.dp.delta if params.dp else None, "validation": {metric: score(model)},
                   "contribution": report.to_json() if report else None}
        for client in clients:
            ch.send(client, FINAL_MODEL, encode_model(None, model, **summary))
        return RoleOutput({"model": model, "summary": summary, "report": report}, model_hash(model))

    return role
