"""Hetero-LR contribution scores: measured on the guest's held-out rows, robust to noise, copies and substitutes."""

from __future__ import annotations

import numpy as np
import pytest

from compute.fl.datasets import load_vertical
from compute.fl.hetero_lr import HeteroLRParams, run_hetero_lr
from compute.party import Party

PARAMS = HeteroLRParams(n_bits=512)


@pytest.fixture(scope="module")
def parties():
    return [Party.generate() for _ in range(5)]


def _sample(name: str, rows: int | None, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = load_vertical(name)
    pick = np.arange(len(data.y))
    if rows is not None:
        pick = np.sort(np.random.default_rng(seed).choice(len(data.y), size=rows, replace=False))
    return data.guest[pick], data.hosts[0][pick], data.y[pick]


@pytest.mark.parametrize(("name", "rows", "guest_columns"), [("breast", None, 2), ("default_credit", 4000, 13)])
def test_a_host_of_pure_noise_earns_at_most_one_percent_of_the_pool(parties, name, rows, guest_columns):
    guest_x, host_x, y = _sample(name, rows)
    guest_x = guest_x[:, :guest_columns]  # on breast a weaker guest, so that a useful host has something to add
    noise = np.random.default_rng(40).normal(size=(len(y), 40))

    run = run_hetero_lr(parties[0], parties[1:3], parties[4], guest_x, y, (host_x, noise), PARAMS, job_id=21)

    weights = run.guest["report"].weights
    assert run.guest["report"].table.metric == "validation-auc"
    assert weights[1] > weights[2]  # the useful host earns more than the noise
    assert weights[2] <= 0.01 * sum(weights), f"noise host earned {weights[2] / sum(weights):.2%} of the pool"


def test_a_copy_registered_by_the_same_owner_earns_that_owner_nothing_extra(parties):
    guest_x, host_x, y = _sample("breast", None)
    guest, a1, a2, b, arbiter = parties
    substitute = host_x[:, ::-1]  # owner B holds the same columns in another order

    alone = run_hetero_lr(
        guest, [a1, b], arbiter, guest_x, y, (host_x, substitute), PARAMS, job_id=22, owners=["G", "A", "B"]
    )
    with_copy = run_hetero_lr(
        guest,
        [a1, a2, b],
        arbiter,
        guest_x,
        y,
        (host_x, host_x.copy(), substitute),
        PARAMS,
        job_id=23,
        owners=["G", "A", "A", "B"],
    )

    before, after = alone.guest["report"], with_copy.guest["report"]
    assert dict(after.details)["groups"] == [[0], [1, 2, 3]]  # the copy and the substitute are one replica group
    share_a_before = before.weights[1] / sum(before.weights)
    share_a_after = (after.weights[1] + after.weights[2]) / sum(after.weights)
    assert after.weights[1] + after.weights[2] == pytest.approx(after.weights[3], abs=2)  # A's two sources = B's one
    assert share_a_after <= share_a_before + 0.01  # the copy did not raise owner A's share of the pool


def test_without_owners_each_copy_counts_as_its_own_owner(parties):
    guest_x, host_x, y = _sample("breast", None)

    run = run_hetero_lr(
        parties[0], parties[1:4], parties[4], guest_x, y, (host_x, host_x.copy(), host_x[:, ::-1]), PARAMS, job_id=24
    )

    weights = run.guest["report"].weights
    assert weights[1] == weights[2] == pytest.approx(weights[3], abs=1)  # three parties, three equal shares
