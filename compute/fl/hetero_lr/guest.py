"""The guest: holds the labels, some features and the intercept; drives training and prediction.

It starts from its own logistic regression, combines the hosts' [[X_h q_h]] with its own
plaintext part into the surrogate's residual [[d]] = [[c ⊙ Σ_h u_h + ℓ'(u₀) + c ⊙ Δ_g]]
(`schedule`; freshly encrypted, so a host cannot strip its own obfuscation to see the
guest's part), sends [[d]] to the hosts and learns its own gradient through a masked
decryption. It coordinates conjugate gradients (α, β from the parties' scalars), measures
the validation loss under the protocol and decides when to stop. At the end it receives
the hosts' partial scores (joint prediction), measures AUC and the coalition utilities on
its held-out rows for contribution scores, and publishes the result.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from itertools import combinations

import numpy as np

from compute.channel import Channel
from compute.contribution import ContributionReport, UtilityTable
from compute.contribution.rule import derive_report
from compute.fl.hetero_lr.arbiter import EPOCH_END, RESULT, request_gradient
from compute.fl.hetero_lr.cipher import FastCipher
from compute.fl.hetero_lr.host import (
    HOST_FORWARD,
    MODEL_COMMITMENT,
    PCG_SCALAR,
    PCG_STEP,
    PREDICT_FORWARD,
    READY,
    RESIDUAL,
    commit_model,
    receive_number,
    receive_public_key,
)
from compute.fl.hetero_lr.schedule import (
    EarlyStopping,
    HeteroLRParams,
    PCGBlock,
    RowSplit,
    chunks,
    curvature,
    guest_start,
    intercept_mask,
    l2_of,
    split_rows,
    start_slope,
    step_length,
    validation_terms,
    with_intercept,
)
from compute.fl.hetero_lr.validation import guest_validation_loss
from compute.fl.hetero_lr.wire import pack, pack_vector, unpack, unpack_floats, unpack_vector
from compute.fl.metrics import auc
from compute.fl.models import sigmoid
from compute.party import Address
from compute.result import hash_result
from compute.session import Role, RoleOutput


def coalition_aucs(
    y: np.ndarray,
    guest_score: np.ndarray,
    host_scores: Sequence[np.ndarray],
    groups: Sequence[Sequence[int]] | None = None,
) -> dict[tuple[int, ...], float]:
    """AUC of the joint model restricted to each coalition of sources [guest, *hosts] (the utility table).

    An absent host's partial score is replaced by its mean (its average effect, no
    information); a coalition without the guest has no labels, hence no model: AUC ½.
    With replica `groups` (source indices), a coalition holding any member of a group holds
    the group's information: every member's score counts, as the model was trained with all.
    """
    sources = 1 + len(host_scores)
    group_of = {k: tuple(g) for g in (groups or [[k] for k in range(sources)]) for k in g}
    table: dict[tuple[int, ...], float] = {}
    for size in range(sources + 1):
        for coalition in combinations(range(sources), size):
            if 0 not in coalition:
                table[coalition] = 0.5
                continue
            present = {k for c in coalition for k in group_of.get(c, (c,))}
            score = guest_score + sum(
                s if 1 + i in present else np.full_like(s, s.mean()) for i, s in enumerate(host_scores)
            )
            table[coalition] = auc(y, score)
    return table


def table_form_problems(table: UtilityTable) -> list[str]:
    """How a hetero-LR utility table departs from the form `coalition_aucs` gives it ([] if it has that form).

    Every coalition of the sources [guest, *hosts] is measured, each an AUC in [0, 1], and a
    coalition without the guest (no labels, no model) is worth exactly ½: what an attester who
    cannot re-measure the AUCs can still check, so the guest cannot, say, talk the hosts down
    by scoring them alone below chance.
    """
    n = len(table.sources)
    problems = []
    if table.metric != "validation-auc":
        problems.append(f"the metric is {table.metric!r}, not 'validation-auc'")
    missing = (1 << n) - len({k for k in table.values if k <= set(range(n))})
    if missing or len(table.values) != 1 << n:
        problems.append(f"the table does not list exactly the {1 << n} coalitions of {n} sources")
    if any(not 0.0 <= v <= 1.0 for v in table.values.values()):
        problems.append("a utility is not an AUC in [0, 1]")
    if any(v != 0.5 for k, v in table.values.items() if 0 not in k):
        problems.append("a coalition without the guest is not worth exactly 0.5")
    return problems


def score_replicas(host_scores: Sequence[np.ndarray], tol: float = 1e-9) -> list[list[int]]:
    """Sources [guest, *hosts] grouped where hosts' validation scores are collinear (a copy or a substitute).

    Two hosts whose partial scores are proportional (|corr| ≥ 1 − tol) give the model the same
    information; the guest, the only label holder, is never grouped.
    """
    groups: list[list[int]] = [[0]]
    for i, s in enumerate(host_scores):
        centred = s - s.mean()
        for group in groups[1:]:
            other = host_scores[group[0] - 1] - host_scores[group[0] - 1].mean()
            norm = float(np.linalg.norm(centred) * np.linalg.norm(other))
            if norm > 0 and abs(float(centred @ other)) >= (1 - tol) * norm:
                group.append(1 + i)
                break
        else:
            groups.append([1 + i])
    return groups


def contribution(
    y: np.ndarray,
    guest_score: np.ndarray,
    host_scores: Sequence[np.ndarray],
    sources: Sequence[str],
    owners: Sequence[str],
) -> ContributionReport:
    """The validation-AUC table and the weights the rule (compute.contribution.rule) derives from it.

    Collinear hosts are measured as one (a coalition holding one holds the information of all),
    so they are exact replicas in the table, and the rule, which sees only the table, groups them.
    """
    utilities = coalition_aucs(y, guest_score, host_scores, score_replicas(host_scores))
    table = UtilityTable(tuple(sources), "validation-auc", {frozenset(k): v for k, v in utilities.items()})
    return derive_report(table, owners)


def train(
    ch: Channel,
    cipher: FastCipher,
    X_all: np.ndarray,
    y: np.ndarray,
    hosts: Sequence[Address],
    arbiter: Address,
    params: HeteroLRParams,
    split: RowSplit,
) -> tuple[np.ndarray, list[float], list[float]]:
    """The guest's training: (weights of the best iteration, validation loss per iteration, iteration start times)."""
    t, v, l2 = split.train, split.validation, l2_of(params, split)
    start = guest_start(X_all[t], y[t], l2)
    c, slope = curvature(X_all[t] @ start), start_slope(X_all[t] @ start, y[t])
    block = PCGBlock(X_all[t], start, c, l2, intercept_mask(X_all.shape[1]))
    offsets = np.cumsum([0, *(len(chunk) for chunk in chunks(split, params))])

    def gradient_at(point: np.ndarray) -> np.ndarray:
        total = None
        for (lo, hi), chunk in zip(zip(offsets[:-1], offsets[1:]), chunks(split, params)):
            X = X_all[chunk]
            parts = [unpack_vector(cipher, ch.recv(h, HOST_FORWARD), h, HOST_FORWARD, len(chunk)) for h in hosts]
            own = slope[lo:hi] + c[lo:hi] * (X @ (point - start))
            residual = cipher.residual(parts, own, c[lo:hi])
            payload = pack_vector(cipher, residual)
            for host in hosts:
                ch.send(host, RESIDUAL, payload)
            part = cipher.rmatmul(residual, X)
            total = part if total is None else cipher.add(total, part)
        assert total is not None  # chunks() yields at least one chunk: the split is never empty
        return block.gradient(request_gradient(ch, cipher, arbiter, total, X_all.shape[1]), len(t), point)

    def gather(own: float) -> float:
        return own + sum(receive_number(ch, h, PCG_SCALAR) for h in hosts)

    starts = [time.perf_counter()]  # one entry per encrypted pass: the starting pass, then each iteration
    rho = gather(block.start(gradient_at(block.weights)))
    stopping, weights, losses, objective = EarlyStopping(params), block.weights, [], 0.0
    for epoch in range(params.epochs):
        starts.append(time.perf_counter())
        alpha = step_length(rho, gather(block.curvature(gradient_at(block.probe()))))
        for host in hosts:
            ch.send(host, PCG_STEP, pack(alpha))
        new_rho = gather(block.advance(alpha))
        decrease, objective = 0.5 * alpha * rho, objective - 0.5 * alpha * rho
        terms = validation_terms(X_all[v] @ start, X_all[v] @ (block.weights - start), y[v])
        losses.append(guest_validation_loss(ch, cipher, hosts, arbiter, terms))
        improved, stop = stopping.update(losses[-1], epoch, decrease <= params.tolerance * abs(objective))
        if improved:
            weights = block.weights
        ch.report_round(epoch + 1, params.epochs, starts[1], loss=losses[-1])
        beta = new_rho / rho if rho > 0 else 0.0
        for party in [*hosts, arbiter]:
            ch.send(party, EPOCH_END, pack({"improved": improved, "stop": stop, "beta": beta}))
        if stop:
            break
        rho = new_rho
        block.turn(beta)
    starts.append(time.perf_counter())
    return weights, losses, starts


def guest_role(
    cipher: FastCipher,
    features: np.ndarray,
    y: np.ndarray,
    hosts: Sequence[Address],
    arbiter: Address,
    params: HeteroLRParams,
    owners: Sequence[str] | None = None,
) -> Role:
    """The label holder's part of training, joint prediction and the result.

    `owners` names who owns each source [guest, *hosts] (default: each party itself); a
    replica group's contribution is split per owner, so a copy earns its owner nothing extra.
    """
    X_all = with_intercept(features)
    rows, width = X_all.shape

    def role(ch: Channel) -> RoleOutput:
        split = split_rows(rows, params)
        receive_public_key(ch, cipher, arbiter, rows)
        for host in hosts:
            ch.recv(host, READY)
        weights, losses, epoch_starts = train(ch, cipher, X_all, y, hosts, arbiter, params, split)
        host_scores = [unpack_floats(ch.recv(h, PREDICT_FORWARD), h, PREDICT_FORWARD, rows) for h in hosts]
        guest_score = X_all @ weights
        score = guest_score + sum(host_scores)
        salt = secrets.token_bytes(32)
        commitments = {ch.address: commit_model(weights, salt)}
        for host in hosts:
            commitments[host] = str(unpack(ch.recv(host, MODEL_COMMITMENT), host, MODEL_COMMITMENT))
        v = split.validation
        sources = (ch.address, *hosts)
        report = contribution(y[v], guest_score[v], [s[v] for s in host_scores], sources, owners or sources)
        result = {
            "protocol": ch.job.protocol,
            "params": params.to_json(),
            "model_commitments": commitments,
            "auc": auc(y[v], score[v]),  # on the held-out validation rows
            "train_auc": auc(y[split.train], score[split.train]),
            "epochs": len(losses),
            "validation_loss": losses,
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
