"""Running FedAvg over the signed transport: one aggregator, several data holders, a validation scorer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from compute.channel import Job
from compute.contribution import ChainCommit, ContributionReport
from compute.errors import InvalidInput
from compute.fl.fedavg.client import client_role
from compute.fl.fedavg.params import FedAvgParams
from compute.fl.fedavg.server import server_role
from compute.fl.metrics import accuracy, auc
from compute.party import Party
from compute.result import PartyMetadata, ProtocolResult, agreed, canonical_json
from compute.rounds import RoundListener, followed
from compute.session import TransportFactory, run_in_process
from compute.transcript import FailureLog
from compute.transport import InProcessTransport

PROTOCOL = "fedavg-secure-aggregation"


@dataclass(frozen=True)
class FedAvgRun:
    """The result (hash = final model hash), the final model, the run summary and the contribution report."""

    result: ProtocolResult[dict[str, Any]]
    model: np.ndarray
    report: ContributionReport | None
    server_view: tuple[tuple[str, str, bytes], ...]

    def bundle(self) -> bytes:
        """The result bundle as canonical JSON (what the job publishes beside its hashes)."""
        return canonical_json(self.result.value)

    def chain_commit(self) -> ChainCommit:
        """The values `commitResult` takes (needs the contribution phase: params.contribution)."""
        if self.report is None:
            raise InvalidInput("this run did not score contributions (FedAvgParams.contribution=False)")
        return ChainCommit.of(self.result.result_hash, self.result.transcript_root, self.report, self.result.value)


def check_rows(X: np.ndarray, y: np.ndarray, what: str, features: int | None) -> int:
    """The feature count of a labelled table; InvalidInput naming it unless it is a non-empty, finite 2-d
    array with one 0/1 label per row (and `features` columns, if given)."""
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y) or len(y) == 0:
        raise InvalidInput(f"{what} must be rows × features with one label per row, got {X.shape} and {y.shape}")
    if features is not None and X.shape[1] != features:
        raise InvalidInput(f"{what} has {X.shape[1]} features, the validation set {features}")
    if X.dtype.kind not in "iuf" or not np.all(np.isfinite(X)):
        raise InvalidInput(f"{what} holds NaN, infinite or non-numeric values")
    if not np.all(np.isin(y, (0, 1))):
        raise InvalidInput(f"{what} has labels other than 0 and 1")
    return int(X.shape[1])


def run_fedavg(
    server: Party,
    clients: Sequence[Party],
    data: Mapping[str, tuple[np.ndarray, np.ndarray]],
    validation: tuple[np.ndarray, np.ndarray],
    params: FedAvgParams,
    *,
    job_id: int,
    metric: str = "auc",
    declared_rows: Mapping[str, int] | None = None,
    owners: Mapping[str, str] | None = None,
    timeout: float = 300.0,
    record_view: bool = False,
    failure_log: FailureLog | None = None,
    transport: TransportFactory = InProcessTransport,
    on_round: RoundListener | None = None,
) -> FedAvgRun:
    """Train over in-process transport. `owners` maps a client to the organisation owning its source (default:
    itself); `declared_rows` (what providers registered) is recorded in the metadata and used nowhere else;
    `on_round` hears the server's report after each round."""
    if len(clients) < 2:
        raise InvalidInput("FedAvg with secure aggregation needs at least two clients")
    if set(data) != {c.address for c in clients}:
        raise InvalidInput("data must be given for exactly the clients")
    features = check_rows(*validation, "the validation set", None)
    for owner, (X, y) in data.items():
        check_rows(X, y, f"the data of {owner}", features)
    Xv, yv = validation
    model_spec = params.build_model(features)
    measures = {
        "auc": lambda m: auc(yv, model_spec.predict(m, Xv)),
        "accuracy": lambda m: accuracy(yv, model_spec.predict(m, Xv)),
    }
    if metric not in measures:
        raise InvalidInput(f"metric must be one of {sorted(measures)}")
    addresses = [c.address for c in clients]
    parties = [server, *clients]
    job = Job(job_id, PROTOCOL, {p.address: p.identity for p in parties}, timeout, record_view)
    owner_list = [(owners or {}).get(a, a) for a in addresses]
    roles = {server.address: server_role(addresses, params, features, measures[metric], metric, owner_list)}
    for client in clients:
        X, y = data[client.address]
        roles[client.address] = client_role(X, y, server.address, addresses, params)
    if on_round is not None:
        roles[server.address] = followed(roles[server.address], on_round)
    outcomes = run_in_process(job, parties, roles, failure_log, transport)
    transcript, result_hash = agreed(outcomes, PROTOCOL)
    value = outcomes[server.address].value
    declared = declared_rows or {}
    metadata = (
        PartyMetadata(server.address, "aggregator", 0),
        *(PartyMetadata(a, "client", int(declared.get(a, len(data[a][1])))) for a in addresses),
    )
    bundle = {
        "protocol": PROTOCOL,
        "params": params.to_json(),
        "model_hash": "0x" + result_hash.hex(),
        **value["summary"],
        "accuracy": measures["accuracy"](value["model"]),
    }
    result = ProtocolResult(PROTOCOL, job_id, bundle, result_hash, transcript, metadata, params.to_json())
    return FedAvgRun(result, value["model"], value["report"], outcomes[server.address].view)
