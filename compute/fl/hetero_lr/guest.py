"""The guest: holds the labels, some features and the intercept; drives training and prediction.

It combines the hosts' [[X_h w_h]] with its own plaintext part into [[d]] = [[¼u + ½ − y]]
(freshly encrypted, so a host cannot strip its own obfuscation to see the guest's part),
sends [[d]] to the hosts and learns its own gradient through a masked decryption. At the end
it receives the hosts' partial scores (joint prediction), measures AUC and the coalition
utilities used for contribution scores, and publishes the result.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from itertools import combinations

import numpy as np

from compute.channel import Channel
from compute.contribution import ContributionReport, UtilityTable, robust_shapley
from compute.fl.hetero_lr.arbiter import RESULT, request_gradient
from compute.fl.hetero_lr.cipher import FastCipher
from compute.fl.hetero_lr.host import (
    HOST_FORWARD,
    MODEL_COMMITMENT,
    PREDICT_FORWARD,
    READY,
    RESIDUAL,
    commit_model,
    receive_public_key,
)
from compute.fl.hetero_lr.schedule import HeteroLRParams, batch_count, batches, residual_offset, with_intercept
from compute.fl.hetero_lr.wire import pack, pack_vector, unpack, unpack_floats, unpack_vector
from compute.fl.metrics import auc
from compute.fl.models import sigmoid
from compute.party import Address
from compute.result import hash_result
from compute.session import Role, RoleOutput


def coalition_aucs(
    y: np.ndarray, guest_score: np.ndarray, host_scores: Sequence[np.ndarray]
) -> dict[tuple[int, ...], float]:
    """AUC of the joint model restricted to each coalition of sources [guest, *hosts] (the utility table).

    An absent host's partial score is replaced by its mean (its average effect, no
    information); a coalition without the guest has no labels, hence no model: AUC ½.
    """
    sources = 1 + len(host_scores)
    table: dict[tuple[int, ...], float] = {}
    for size in range(sources + 1):
        for coalition in combinations(range(sources), size):
            if 0 not in coalition:
                table[coalition] = 0.5
                continue
            score = guest_score + sum(
                s if 1 + i in coalition else np.full_like(s, s.mean()) for i, s in enumerate(host_scores)
            )
            table[coalition] = auc(y, score)
    return table


def guest_role(
    cipher: FastCipher,
    features: np.ndarray,
    y: np.ndarray,
    hosts: Sequence[Address],
    arbiter: Address,
    params: HeteroLRParams,
) -> Role:
    """The label holder's part of training, joint prediction and the result."""
    X_all = with_intercept(features)
    rows, width = X_all.shape

    def role(ch: Channel) -> RoleOutput:
        receive_public_key(ch, cipher, arbiter, batch_count(rows, params) * params.batch_size)
        for host in hosts:
            ch.recv(host, READY)
        weights = np.zeros(width)
        epoch_starts = [time.perf_counter()]
        for epoch, batch in batches(rows, params):
            if epoch == len(epoch_starts):
                epoch_starts.append(time.perf_counter())
            X = X_all[batch]
            parts = [unpack_vector(cipher, ch.recv(h, HOST_FORWARD), h, HOST_FORWARD, len(batch)) for h in hosts]
            residual = cipher.residual(parts, residual_offset(X @ weights, y[batch]))
            payload = pack_vector(cipher, residual)
            for host in hosts:
                ch.send(host, RESIDUAL, payload)
            gradient = request_gradient(ch, cipher, arbiter, cipher.rmatmul(residual, X), width)
            weights = weights - params.learning_rate * (gradient / len(batch) + params.l2 * weights)
        epoch_starts.append(time.perf_counter())
        host_scores = [unpack_floats(ch.recv(h, PREDICT_FORWARD), h, PREDICT_FORWARD, rows) for h in hosts]
        guest_score = X_all @ weights
        score = guest_score + sum(host_scores)
        salt = secrets.token_bytes(32)
        commitments = {ch.address: commit_model(weights, salt)}
        for host in hosts:
            commitments[host] = str(unpack(ch.recv(host, MODEL_COMMITMENT), host, MODEL_COMMITMENT))
        utilities = coalition_aucs(y, guest_score, host_scores)
        table = UtilityTable((ch.address, *hosts), "auc", {frozenset(k): v for k, v in utilities.items()})
        scores = robust_shapley(len(table.sources), table, tol=1e-9).values
        report = ContributionReport.build(table, "shapley-replication-robust", scores)
        result = {
            "protocol": ch.job.protocol,
            "params": params.to_json(),
            "model_commitments": commitments,
            "auc": auc(y, score),
            "contribution": report.to_json(),
        }
        for party in [*hosts, arbiter]:
            ch.send(party, RESULT, pack(result))
        value = {"weights": weights, "salt": salt, "probabilities": sigmoid(score), "result": result, "report": report}
        return RoleOutput(
            value,
            hash_result(result),
            metadata={
                "rows": rows,
                "offline_seconds": cipher.offline_seconds,
                "epoch_seconds": list(np.diff(epoch_starts)),
            },
        )

    return role
