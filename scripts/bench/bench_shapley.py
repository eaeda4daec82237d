"""Shapley time for 4, 8 and 20 data sources on a FedAvg job's utility (validation AUC of coalition models).

Ours rebuilds each coalition's model from the recorded round updates (gradient-based Shapley);
the baseline retrains FedAvg on each coalition's data, measured in the same process (for 20
sources on a sample of coalitions, scaled to the number of evaluations Monte Carlo made).
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
from report import emit

from compute.contribution import CachedUtility, exact_shapley, monte_carlo_shapley, robust_shapley
from compute.fl.datasets import load_vertical, non_iid_parts
from compute.fl.fedavg.params import reconstruct
from compute.fl.metrics import auc
from compute.fl.models import LogisticModel, sgd

ROUNDS, EPOCHS, LR, BATCH = 10, 1, 0.1, 32


def setup(sources: int):
    data = load_vertical("default_credit")
    X, y = data.joined(), data.y
    order = np.random.default_rng(0).permutation(len(y))
    valid, train = order[:3000], order[3000 : 3000 + 600 * sources]
    parts = non_iid_parts(X[train], y[train], sources, alpha=1.0, seed=1)
    model = LogisticModel(X.shape[1])
    return model, parts, X[valid], y[valid]


def fedavg(model, parts, members, record=None):
    params = model.init()
    for t in range(ROUNDS):
        updates = {
            k: sgd(model, params, *parts[k], epochs=EPOCHS, lr=LR, batch_size=BATCH, seed=t) - params for k in members
        }
        if record is not None:
            record.append(updates)
        if members:
            params = params + sum(updates.values()) / len(members)
    return params


def utilities(model, parts, Xv, yv):
    recorded: list[dict[int, np.ndarray]] = []
    fedavg(model, parts, list(range(len(parts))), recorded)
    initial = model.init()

    def rebuilt(S):
        S = sorted(S)
        sums = [(sum(r[k] for k in S) if S else None, len(S)) for r in recorded]
        return auc(yv, model.predict(reconstruct(initial, sums), Xv)) if S else 0.5

    def retrained(S):
        return auc(yv, model.predict(fedavg(model, parts, sorted(S)), Xv)) if S else 0.5

    return rebuilt, retrained


def timed(action):
    start = time.perf_counter()
    value = action()
    return time.perf_counter() - start, value


def main() -> None:
    for sources in (4, 8):
        model, parts, Xv, yv = setup(sources)
        rebuilt, retrained = utilities(model, parts, Xv, yv)
        ours, _ = timed(lambda: exact_shapley(sources, CachedUtility(rebuilt, sources)))
        robust, _ = timed(lambda: robust_shapley(sources, CachedUtility(rebuilt, sources), tol=0.005))
        base, _ = timed(lambda: exact_shapley(sources, CachedUtility(retrained, sources)))
        emit(f"shapley_exact_{sources}_sources_s", ours, "s", "exact, retraining every coalition", base)
        emit(f"shapley_robust_{sources}_sources_s", robust, "s", "exact, retraining every coalition", base)
    sources = 20
    model, parts, Xv, yv = setup(sources)
    rebuilt, retrained = utilities(model, parts, Xv, yv)
    cached = CachedUtility(rebuilt, sources)
    ours, estimate = timed(lambda: monte_carlo_shapley(sources, cached, permutations=100, truncation=0.001, seed=1))
    rng = np.random.default_rng(2)
    sample = [[k for k in range(sources) if rng.random() < 0.5] for _ in range(5)]
    per_eval, _ = timed(lambda: [retrained(S) for S in sample])
    emit(
        "shapley_tmc_20_sources_100_permutations_s",
        ours,
        "s",
        f"same {len(cached.cache)} coalitions retrained (scaled from 5)",
        per_eval / 5 * len(cached.cache),
    )
    emit(
        "shapley_tmc_20_sources_error_bound",
        estimate.error_bound,
        "AUC",
        "largest estimated value",
        float(np.max(estimate.values)),
    )


if __name__ == "__main__":
    main()
