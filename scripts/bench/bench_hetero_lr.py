"""Hetero-LR seconds per epoch: compute.paillier against a straightforward phe implementation of the same
protocol (same roles, same transport), on FATE's breast and default_credit splits and a synthetic two-host set.

Online time = the guest's wall time per epoch, timed after every party finished its offline work
(key generation, obfuscator precomputation or short-exponent tables), which is reported on its own
line (the longest party's, as parties precompute concurrently). Where the phe baseline would take many
minutes (default_credit), it runs on a seeded row subsample and is scaled to the full row count
(its cost is linear in rows); the line's name says so.
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
from report import emit

from compute.fl.datasets import VerticalSplit, load_vertical
from compute.fl.hetero_lr import HeteroLRParams, run_hetero_lr
from compute.fl.metrics import auc
from compute.fl.models import fit_logistic
from compute.party import Party

PARTIES = [Party.generate() for _ in range(4)]
BASELINE = "phe straightforward, same protocol (s/epoch)"


def subsample(data: VerticalSplit, rows: int, seed: int = 0) -> VerticalSplit:
    pick = np.sort(np.random.default_rng(seed).choice(len(data.y), size=rows, replace=False))
    return VerticalSplit(
        tuple(data.ids[i] for i in pick), data.y[pick], data.guest[pick], tuple(h[pick] for h in data.hosts)
    )


def synthetic_two_hosts(rows: int, seed: int = 7) -> VerticalSplit:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 30))
    logits = X @ rng.normal(scale=0.5, size=30)
    y = (rng.random(rows) < 1 / (1 + np.exp(-logits))).astype(float)
    return VerticalSplit(tuple(map(str, range(rows))), y, X[:, :10], (X[:, 10:20], X[:, 20:]))


def epoch(data: VerticalSplit, params: HeteroLRParams) -> tuple[float, float, float]:
    """(online s/epoch, offline s, AUC) of one run."""
    hosts = PARTIES[1 : 1 + len(data.hosts)]
    run = run_hetero_lr(PARTIES[0], hosts, PARTIES[3], data.guest, data.y, data.hosts, params, job_id=1)
    return float(np.mean(run.epoch_seconds)), max(run.offline_seconds.values()), run.result.value["auc"]


def plaintext_auc(data: VerticalSplit) -> float:
    X = data.joined()
    w = fit_logistic(X, data.y, l2=1.0 / len(data.y))
    return auc(data.y, X @ w[:-1] + w[-1])


def compare(
    label: str,
    data: VerticalSplit,
    bits: int,
    batch: int,
    lr: float,
    baseline_rows: int | None = None,
    kinds: tuple[str, ...] = ("fresh", "precomputed", "short-exponent"),
) -> None:
    common = {"epochs": 1, "batch_size": batch, "learning_rate": lr, "n_bits": bits}
    base_data = data if baseline_rows is None else subsample(data, baseline_rows)
    base_time, _, base_auc = epoch(base_data, HeteroLRParams(cipher="phe", **common))
    scaled = "" if baseline_rows is None else f", scaled from {baseline_rows} rows"
    base_time *= len(data.y) / len(base_data.y)
    for kind in kinds:
        online, offline, got_auc = epoch(data, HeteroLRParams(obfuscation=kind, **common))
        name = f"hetero_lr_{label}_{bits}_{kind.replace('-', '_')}"
        emit(name + "_online_s_per_epoch", online, "s", BASELINE + scaled, base_time)
        if offline > 0.001:
            emit(name + "_offline_s", offline, "s", BASELINE + scaled, base_time)
        emit(name + "_auc_after_1_epoch", got_auc, "AUC", "plaintext centralised LR AUC", plaintext_auc(data))
    if baseline_rows is None:
        emit(
            f"hetero_lr_{label}_{bits}_phe_auc_after_1_epoch",
            base_auc,
            "AUC",
            "plaintext centralised LR AUC",
            plaintext_auc(data),
        )


def main() -> None:
    breast = load_vertical("breast")
    compare("breast", breast, 2048, 64, 0.3)
    compare("breast", breast, 1024, 64, 0.3)
    compare("synthetic_2hosts_1000rows", synthetic_two_hosts(1000), 2048, 128, 0.3)
    credit = load_vertical("default_credit")
    compare("default_credit", credit, 1024, 320, 0.15, baseline_rows=3000, kinds=("short-exponent",))
    compare("default_credit", credit, 2048, 320, 0.15, baseline_rows=1000, kinds=("short-exponent",))


if __name__ == "__main__":
    main()
