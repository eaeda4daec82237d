"""The FedAvg aggregator: sends each round's global model, learns only the secure sum of the
updates (compute.secagg on the job's channel), and scores contributions.

The model hash of every round goes into the transcript (in the next round's model message and
the final one). The mean is over the clients whose input the secure aggregation accepted; a
round goes on without clients that miss a stage deadline, as long as two thirds remain.
Contribution scores rebuild coalition models from noisy coalition sums (compute/fl/dp.py):
the aggregator never holds one client's exact update, nor two exact sums whose difference is
one. The privacy spent is tracked per client over every release it is in, and the worst
client's (ε, δ) is reported.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable

import numpy as np

from compute.channel import Channel
from compute.contribution import ContributionReport, UtilityTable
from compute.contribution.rule import derive_report
from compute.errors import ProtocolViolation
from compute.fl.dp import epsilon, release_rho
from compute.fl.fedavg.client import (
    FINAL_MODEL,
    FRACTION_BITS,
    GLOBAL_MODEL,
    SINGLE_UPDATE,
    aggregation,
    coalition_rounds,
    decode_sum,
    encode_model,
    instance_of,
)
from compute.fl.fedavg.params import FedAvgParams, coalitions, model_hash, reconstruct
from compute.party import Address
from compute.secagg.protocol import server_role as secagg_server
from compute.session import Role, RoleOutput

Scorer = Callable[[np.ndarray], float]
Sums = dict[tuple[tuple[int, ...], int], tuple[np.ndarray, int]]


def _single(data: bytes, sender: str, step: str, size: int) -> np.ndarray:
    if len(data) != 8 * size:
        raise ProtocolViolation(sender, step, f"{len(data)} bytes, expected {size} fixed-point values")
    return np.frombuffer(data, dtype="<i8").astype(np.int64)


class _Spent:
    """ρ (zCDP) spent per client, release by release."""

    def __init__(self, params: FedAvgParams, dims: int) -> None:
        self.params, self.dims = params, dims
        self.rho: dict[Address, float] = defaultdict(float)

    def release(self, members: list[Address], threshold: int) -> None:
        if self.params.dp is not None:
            cost = release_rho(self.params.dp, self.dims, threshold, FRACTION_BITS)
            for a in members:
                self.rho[a] += cost

    def summary(self) -> tuple[float | None, dict[str, float]]:
        if self.params.dp is None:
            return None, {}
        per_client = {a: epsilon(self.params.dp, r) for a, r in self.rho.items()}
        return max(per_client.values(), default=0.0), per_client


def _contribution_sums(
    ch: Channel, clients: list[Address], params: FedAvgParams, accepted: dict[int, list[Address]], spent: _Spent
) -> Sums:
    size = spent.dims
    sums: Sums = {}
    for coalition, t, members in coalition_rounds(clients, accepted):
        instance = instance_of(coalition, t)
        if len(members) == 1:
            step = f"{instance}/{SINGLE_UPDATE}"
            total = _single(ch.recv(members[0], step), members[0], step, size)
            spent.release(members, 1)
            sums[(coalition, t)] = (decode_sum(total, params), 1)
        else:
            agg = aggregation(len(members), size, params, instance, all_needed=True)
            out = secagg_server(agg, members)(ch).value
            spent.release(members, agg.threshold)
            sums[(coalition, t)] = (decode_sum(out["sum"], params), len(out["clients"]))
    return sums


def _report(
    clients: list[Address],
    params: FedAvgParams,
    initial: np.ndarray,
    sums: Sums,
    score: Scorer,
    metric: str,
    owners: list[str],
) -> ContributionReport:
    utilities: dict[frozenset[int], float] = {frozenset(): score(initial)}
    for coalition in coalitions(len(clients)):
        round_sums = [sums.get((coalition, t), (None, 0)) for t in range(params.rounds)]
        utilities[frozenset(coalition)] = score(reconstruct(initial, round_sums))
    return derive_report(UtilityTable(tuple(clients), metric, utilities), owners, params.replica_tolerance)


def server_role(
    clients: list[Address], params: FedAvgParams, features: int, score: Scorer, metric: str, owners: list[str]
) -> Role:
    """The aggregator; `score(model)` measures a model on the requester's validation set."""
    model_spec = params.build_model(features)

    def role(ch: Channel) -> RoleOutput:
        initial = model_spec.init(params.seed)
        model, round_hashes = initial.copy(), []
        spent = _Spent(params, initial.size)
        everyone = tuple(range(len(clients)))
        sums: Sums = {}
        accepted: dict[int, list[Address]] = {}
        started = time.perf_counter()
        for t in range(params.rounds):
            sampled = params.sampled(t, clients)
            for client in sampled:
                ch.send(client, GLOBAL_MODEL, encode_model(t, model))
            agg = aggregation(len(sampled), model.size, params, f"round-{t}")
            out = secagg_server(agg, sampled)(ch).value
            accepted[t] = [sampled[i] for i in out["clients"]]
            spent.release(accepted[t], agg.threshold)
            total = decode_sum(out["sum"], params)
            sums[(everyone, t)] = (total, len(accepted[t]))
            model = model + total / len(accepted[t])  # equal weights: row counts are self-reported
            round_hashes.append(model_hash(model).hex())
            ch.report_round(t + 1, params.rounds, started, **{metric: score(model)})
        report = None
        if params.contribution:
            sums |= _contribution_sums(ch, clients, params, accepted, spent)
            report = _report(clients, params, initial, sums, score, metric, owners)
        spent_epsilon, per_client = spent.summary()
        summary = {
            "round_model_hashes": round_hashes,
            "epsilon": spent_epsilon,  # worst client, training and contribution phase together
            "epsilon_per_client": per_client,
            "delta": params.dp.delta if params.dp else None,
            "rounds_clients": {str(t): accepted[t] for t in sorted(accepted)},
            "validation": {metric: score(model)},
            "contribution": report.to_json() if report else None,
        }
        for client in clients:
            ch.send(client, FINAL_MODEL, encode_model(None, model, **summary))
        return RoleOutput({"model": model, "summary": summary, "report": report}, model_hash(model))

    return role
