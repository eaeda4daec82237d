"""Hetero-LR total seconds per epoch at the defaults, against a straightforward phe implementation of the same
protocol (same roles, same transport, phe's EncryptedNumber per value and r^n obfuscators), in one run; and the
test AUC at the defaults beside scikit-learn's on the pooled features.

An epoch is one encrypted pass over the training rows (conjugate gradients take one per iteration, plus the
starting pass). Total = the guest's wall time per pass plus every party's offline work (obfuscator tables,
the longest party's, as parties precompute concurrently) spread over the passes of the run; key generation
is left out of both sides. Where a run would take minutes (default_credit at 2048 bits), both sides run on a
seeded row subsample and are scaled to the full row count (the cost of a pass is linear in rows); the line's
name says so.
"""

from __future__ import annotations

import os
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
from report import emit

from compute.fl.datasets import VerticalSplit, load_vertical, random_vertical_split
from compute.fl.hetero_lr import HeteroLRParams, run_hetero_lr
from compute.fl.metrics import auc
from compute.party import Party

PARTIES = [Party.generate() for _ in range(4)]
BASELINE = "phe straightforward, same protocol (total s/epoch)"


def subsample(data: VerticalSplit, rows: int, seed: int = 0) -> VerticalSplit:
    pick = np.sort(np.random.default_rng(seed).choice(len(data.y), size=rows, replace=False))
    return VerticalSplit(
        tuple(data.ids[i] for i in pick), data.y[pick], data.guest[pick], tuple(h[pick] for h in data.hosts)
    )


def total_per_epoch(data: VerticalSplit, params: HeteroLRParams) -> float:
    """Seconds per encrypted pass, offline work included."""
    hosts = PARTIES[1 : 1 + len(data.hosts)]
    run = run_hetero_lr(PARTIES[0], hosts, PARTIES[3], data.guest, data.y, data.hosts, params, job_id=1)
    passes = len(run.epoch_seconds)
    return (float(np.sum(run.epoch_seconds)) + max(run.offline_seconds.values())) / passes


def compare(label: str, data: VerticalSplit, bits: int, rows: int | None = None) -> None:
    """Our default against phe on the same rows (one iteration: two passes each); offline work scales too."""
    sample = data if rows is None else subsample(data, rows)
    scale = len(data.y) / len(sample.y)
    ours = total_per_epoch(sample, HeteroLRParams(epochs=1, n_bits=bits)) * scale
    base = total_per_epoch(sample, HeteroLRParams(epochs=1, n_bits=bits, cipher="phe")) * scale
    scaled = "" if rows is None else f"_scaled_from_{rows}_rows"
    emit(f"hetero_lr_{label}_{bits}_default_total_s_per_epoch{scaled}", ours, "s", BASELINE, base)


def auc_against_sklearn(name: str, seeds: tuple[int, ...], bits: int) -> None:
    """Test AUC at the defaults on random vertical splits (mean over seeds) beside scikit-learn's."""
    data = load_vertical(name)
    X, y = data.joined(), data.y
    ours, reference = [], []
    for seed in seeds:
        split = random_vertical_split(X.shape[1], len(y), seed)
        guest_x, host_x = split.parts(X[split.train])
        hosts = PARTIES[1 : 1 + len(host_x)]
        run = run_hetero_lr(
            PARTIES[0], hosts, PARTIES[3], guest_x, y[split.train], host_x, HeteroLRParams(n_bits=bits), job_id=seed
        )
        test_guest, test_hosts = split.parts(X[split.test])
        w = run.guest["weights"]
        score = test_guest @ w[:-1] + w[-1] + sum(h @ out["weights"] for h, out in zip(test_hosts, run.hosts))
        ours.append(auc(y[split.test], score))
        model = LogisticRegression(max_iter=5000).fit(X[split.train], y[split.train])
        reference.append(auc(y[split.test], model.decision_function(X[split.test])))
    emit(
        f"hetero_lr_{name}_{bits}_test_auc_mean_of_{len(seeds)}_random_splits",
        float(np.mean(ours)),
        "AUC",
        "scikit-learn LogisticRegression on the pooled features",
        float(np.mean(reference)),
    )


def main() -> None:
    breast = load_vertical("breast")
    compare("breast", breast, 2048)
    compare("default_credit", load_vertical("default_credit"), 2048, rows=1000)
    auc_against_sklearn("breast", (11, 12, 13), 1024)  # the key size changes the time, not the model


if __name__ == "__main__":
    main()
