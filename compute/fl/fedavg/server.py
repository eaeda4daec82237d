"""The FedAvg aggregator: sends each round's global model, learns only the secure sum of the
updates (compute.secagg on the job's channel), and scores contributions.

The model hash of every round goes into the transcript (in the next round's model message and
the final one). The mean is over the clients whose input the secure aggregation accepted.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from compute.channel import Channel
from compute.contribution import ContributionReport, UtilityTable, robust_shapley
from compute.contribution.shapley import EXACT_LIMIT, leave_one_out
from compute.errors import ProtocolViolation
from compute.fl.dp import epsilon
from compute.fl.fedavg.client import (
    FINAL_MODEL,
    GLOBAL_MODEL,
    SINGLE_UPDATE,
    aggregation,
    coalition_rounds,
    encode_model,
)
from compute.fl.fedavg.params import FedAvgParams, coalitions, model_hash, reconstruct
from compute.party import Address
from compute.secagg.protocol import server_role as secagg_server
from compute.session import Role, RoleOutput

Scorer = Callable[[np.ndarray], float]


def _single(data: bytes, sender: str, size: int) -> np.ndarray:
    if len(data) != 8 * size:
        raise ProtocolViolation(sender, SINGLE_UPDATE, f"{len(data)} bytes, expected {size} float64 values")
    vector = np.frombuffer(data, dtype="<f8")
    if not np.all(np.isfinite(vector)):
        raise ProtocolViolation(sender, SINGLE_UPDATE, "update is not finite")
    return vector


def _contribution(
    ch: Channel,
    clients: list[Address],
    params: FedAvgParams,
    initial: np.ndarray,
    score: Scorer,
    metric: str,
    owners: list[str],
) -> ContributionReport:
    size = initial.size
    sums: dict[tuple[tuple[int, ...], int], tuple[np.ndarray, int]] = {}
    for coalition, t, members in coalition_rounds(clients, params):
        if len(members) == 1:
            sums[(coalition, t)] = (_single(ch.recv(members[0], SINGLE_UPDATE), members[0], size), 1)
        else:
            out = secagg_server(aggregation(len(members), size, params, all_needed=True), members)(ch).value
            sums[(coalition, t)] = (out["sum"], len(out["clients"]))
    utilities: dict[frozenset[int], float] = {frozenset(): score(initial)}
    for coalition in coalitions(len(clients)):
        round_sums = [sums.get((coalition, t), (None, 0)) for t in range(params.rounds)]
        utilities[frozenset(coalition)] = score(reconstruct(initial, round_sums))
    table = UtilityTable(tuple(clients), metric, utilities)
    if len(clients) <= EXACT_LIMIT:
        robust = robust_shapley(len(clients), table, tol=params.replica_tolerance, owners=owners)
        return ContributionReport.build(
            table,
            "shapley-replication-robust",
            robust.values,
            robust.error_bound,
            replica_groups=[list(g) for g in robust.groups],
        )
    return ContributionReport.build(table, "leave-one-out", leave_one_out(len(clients), table))


def server_role(
    clients: list[Address], params: FedAvgParams, features: int, score: Scorer, metric: str, owners: list[str]
) -> Role:
    """The aggregator; `score(model)` measures a model on the requester's validation set."""
    model_spec = params.build_model(features)

    def role(ch: Channel) -> RoleOutput:
        initial = model_spec.init(params.seed)
        model, round_hashes = initial.copy(), []
        for t in range(params.rounds):
            sampled = params.sampled(t, clients)
            for client in sampled:
                ch.send(client, GLOBAL_MODEL, encode_model(t, model))
            out = secagg_server(aggregation(len(sampled), model.size, params), sampled)(ch).value
            model = model + out["sum"] / len(out["clients"])  # equal weights: row counts are self-reported
            round_hashes.append(model_hash(model).hex())
        report = _contribution(ch, clients, params, initial, score, metric, owners) if params.contribution else None
        spent = epsilon(params.dp, params.rounds) if params.dp else None
        summary = {
            "round_model_hashes": round_hashes,
            "epsilon": spent,
            "delta": params.dp.delta if params.dp else None,
            "validation": {metric: score(model)},
            "contribution": report.to_json() if report else None,
        }
        for client in clients:
            ch.send(client, FINAL_MODEL, encode_model(None, model, **summary))
        return RoleOutput({"model": model, "summary": summary, "report": report}, model_hash(model))

    return role
