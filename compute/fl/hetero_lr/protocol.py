"""Running Paillier hetero logistic regression: a guest, one or more hosts, an arbiter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from compute.channel import Job
from compute.contribution import ChainCommit
from compute.errors import InvalidInput
from compute.fl.hetero_lr.arbiter import arbiter_role
from compute.fl.hetero_lr.cipher import make_cipher
from compute.fl.hetero_lr.guest import guest_role
from compute.fl.hetero_lr.host import host_role
from compute.fl.hetero_lr.schedule import HeteroLRParams
from compute.party import Party
from compute.result import PartyMetadata, ProtocolResult, agreed
from compute.rounds import RoundListener, followed
from compute.session import run_in_process
from compute.transcript import FailureLog

PROTOCOL = "hetero-lr-paillier"


@dataclass(frozen=True)
class HeteroLRRun:
    """A finished run: the shared result, each party's local output, and what each party saw."""

    result: ProtocolResult[dict[str, Any]]
    guest: dict[str, Any]
    hosts: tuple[dict[str, Any], ...]
    arbiter_decrypted: tuple[tuple[int, ...], ...]
    views: dict[str, tuple[tuple[str, str, bytes], ...]]
    offline_seconds: dict[str, float]
    epoch_seconds: tuple[float, ...]  # the guest's wall time per encrypted pass (starting pass, then iterations)

    def chain_commit(self) -> ChainCommit:
        """The values `commitResult` takes; sources are [guest, *hosts] by address."""
        return ChainCommit.of(
            self.result.result_hash, self.result.transcript_root, self.guest["report"], self.result.value
        )


def _check(
    guest_features: np.ndarray, y: np.ndarray, host_features: Sequence[np.ndarray], owners: Sequence[str] | None
) -> None:
    if not host_features:
        raise InvalidInput("hetero-LR needs at least one host")
    rows = len(y)
    if guest_features.shape[0] != rows or any(h.shape[0] != rows for h in host_features):
        raise InvalidInput("guest labels, guest features and every host's features must have the same aligned rows")
    if not set(np.unique(y)) == {0.0, 1.0}:
        raise InvalidInput("labels must be 0/1 with both classes present")
    if owners is not None and len(owners) != 1 + len(host_features):
        raise InvalidInput(f"{len(owners)} owners for {1 + len(host_features)} sources")


def run_hetero_lr(
    guest: Party,
    hosts: Sequence[Party],
    arbiter: Party,
    guest_features: np.ndarray,
    y: np.ndarray,
    host_features: Sequence[np.ndarray],
    params: HeteroLRParams,
    *,
    job_id: int,
    timeout: float = 600.0,
    record_view: bool = False,
    failure_log: FailureLog | None = None,
    owners: Sequence[str] | None = None,
    on_round: RoundListener | None = None,
) -> HeteroLRRun:
    """Train jointly over the in-process transport; rows must already be aligned (PSI).

    `owners` names the owner of each source [guest, *hosts] (default: each party itself);
    `on_round` hears the guest's report after each epoch.
    """
    y = np.asarray(y, dtype=np.float64)
    _check(guest_features, y, host_features, owners)
    parties = [guest, *hosts, arbiter]
    job = Job(job_id, PROTOCOL, {p.address: p.identity for p in parties}, timeout, record_view)
    ciphers = {
        p.address: make_cipher(params.cipher, params.n_bits, params.obfuscation, params.workers) for p in parties
    }
    host_addresses = [h.address for h in hosts]
    widths = [guest_features.shape[1] + 1, *(h.shape[1] for h in host_features)]
    roles = {
        guest.address: guest_role(
            ciphers[guest.address], guest_features, y, host_addresses, arbiter.address, params, owners
        ),
        arbiter.address: arbiter_role(
            ciphers[arbiter.address],
            guest.address,
            host_addresses,
            widths,
            params.epochs,
            record_decryptions=record_view,
        ),
    }
    for host, features in zip(hosts, host_features):
        roles[host.address] = host_role(ciphers[host.address], features, guest.address, arbiter.address, params)
    if on_round is not None:
        roles[guest.address] = followed(roles[guest.address], on_round)
    outcomes = run_in_process(job, parties, roles, failure_log)
    transcript, result_hash = agreed(outcomes, PROTOCOL)
    guest_value = outcomes[guest.address].value
    metadata = (
        PartyMetadata(guest.address, "guest", len(y), {"features": guest_features.shape[1]}),
        *(PartyMetadata(h.address, "host", len(y), {"features": f.shape[1]}) for h, f in zip(hosts, host_features)),
        PartyMetadata(arbiter.address, "arbiter", 0),
    )
    result = ProtocolResult(
        PROTOCOL, job_id, guest_value["result"], result_hash, transcript, metadata, params.to_json()
    )
    return HeteroLRRun(
        result,
        guest_value,
        tuple(outcomes[h.address].value for h in hosts),
        tuple(tuple(v) for v in outcomes[arbiter.address].metadata["decrypted"]),
        {p.address: outcomes[p.address].view for p in parties},
        {p.address: float(outcomes[p.address].metadata.get("offline_seconds", 0.0)) for p in parties},
        tuple(outcomes[guest.address].metadata["epoch_seconds"]),
    )
