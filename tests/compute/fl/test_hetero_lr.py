"""Paillier hetero-LR: accuracy against plaintext LR (FATE's rule), exactness, privacy of what each party sees."""

from __future__ import annotations

import json

import numpy as np
import pytest

from compute.errors import ProtocolViolation
from compute.fl.datasets import load_vertical, split_hosts
from compute.fl.hetero_lr import HeteroLRParams, reference_training, run_hetero_lr
from compute.fl.hetero_lr.cipher import SLOT_BITS, FastCipher
from compute.fl.hetero_lr.wire import pack, unpack_vector
from compute.fl.metrics import auc
from compute.fl.models import fit_logistic
from compute.party import Party
from compute.rounds import RoundReport


def plaintext_auc(guest: np.ndarray, hosts: tuple[np.ndarray, ...], y: np.ndarray) -> float:
    X = np.hstack([guest, *hosts])
    params = fit_logistic(X, y, l2=1.0 / len(y))  # scikit-learn's default C=1, in mean-loss terms
    return auc(y, X @ params[:-1] + params[-1])


@pytest.fixture(scope="module")
def parties():
    return [Party.generate() for _ in range(4)]


def test_breast_run_commits_models_and_scores_contribution_on_held_out_rows(parties):
    data = load_vertical("breast")
    guest, host, arbiter = parties[:3]
    params = HeteroLRParams(n_bits=512)
    reports: list[RoundReport] = []

    run = run_hetero_lr(
        guest, [host], arbiter, data.guest, data.y, data.hosts, params, job_id=11, on_round=reports.append
    )

    value = run.result.value
    assert data.guest.shape[1] == 10 and data.hosts[0].shape[1] == 20
    assert value["auc"] >= plaintext_auc(data.guest, data.hosts, data.y) - 0.01
    assert 1 <= value["epochs"] == len(run.epoch_seconds) - 1 == len(value["validation_loss"]) < params.epochs
    assert len(run.result.transcript) > 0 and len(run.result.result_hash) == 32
    report = run.guest["report"]
    assert report.table.metric == "validation-auc" and len(report.weights) == 2
    assert value["contribution"]["contribution_hash"] == "0x" + report.contribution_hash.hex()
    # The guest reported each epoch as it ended: its number, the cap, and that epoch's validation loss.
    assert [(r.done, r.total) for r in reports] == [(e, params.epochs) for e in range(1, value["epochs"] + 1)]
    assert [r.metrics["loss"] for r in reports] == value["validation_loss"]
    assert reports[0].eta_seconds is not None and reports[0].eta_seconds > 0


@pytest.mark.parametrize("cipher", ["fast", "phe"])
def test_encrypted_run_with_two_hosts_reproduces_the_plaintext_arithmetic(parties, cipher):
    data = split_hosts(load_vertical("breast"), 2)
    rows = slice(0, 48)
    guest_x, hosts_x, y = data.guest[rows], tuple(h[rows] for h in data.hosts), data.y[rows]
    params = HeteroLRParams(epochs=2, batch_size=16, n_bits=512, cipher=cipher)  # 3 chunks per pass

    run = run_hetero_lr(parties[0], parties[1:3], parties[3], guest_x, y, hosts_x, params, job_id=13)

    expected_guest, expected_hosts = reference_training(guest_x, hosts_x, y, params)
    # phe's baseline masks with a float of up to 2^44, which keeps ~2^-9 of the gradient's precision
    atol = 1e-4 if cipher == "fast" else 2e-3
    np.testing.assert_allclose(run.guest["weights"], expected_guest, atol=atol)
    for got, expected in zip(run.hosts, expected_hosts):
        np.testing.assert_allclose(got["weights"], expected, atol=atol)
    assert set(run.result.value["model_commitments"]) == {p.address for p in parties[:3]}


def test_arbiter_decrypts_only_masked_slots_and_host_sees_no_labels(parties):
    data = load_vertical("breast")
    rows = slice(0, 40)
    guest_x, host_x, y = data.guest[rows], data.hosts[0][rows], data.y[rows]
    params = HeteroLRParams(epochs=1, batch_size=20, n_bits=512)

    run = run_hetero_lr(
        parties[0], [parties[1]], parties[2], guest_x, y, (host_x,), params, job_id=14, record_view=True
    )

    decrypted = [v for vector in run.arbiter_decrypted for v in vector]
    per = (512 - 2) // SLOT_BITS  # gradient values packed per ciphertext at 512 bits
    # the starting pass and one probe pass (guest 10 + intercept, host 20), then the validation loss
    assert len(decrypted) == 2 * (-(-11 // per) + -(-20 // per)) + 1
    slots = [(v >> (SLOT_BITS * j)) & ((1 << SLOT_BITS) - 1) for v in decrypted for j in range(per)]
    # an unmasked slot would be 2^96 + g with |g| < 2^70; masked slots are ~uniform below 2^137
    fractions = np.array([s / 2.0 ** (SLOT_BITS - 1) for s in slots if s])
    assert np.all(fractions > 2.0**-30) and 0.3 < fractions.mean() < 0.7
    host_view = run.views[parties[1].address]
    assert {step for _, step, _ in host_view} == {
        "public-key",
        "residual",
        "gradient",
        "pcg-step",
        "earlier-hosts",
        "epoch-end",
        "result",
    }
    assert {step for _, step, _ in run.views[parties[0].address]} == {
        "public-key",
        "ready",
        "host-forward",
        "gradient",
        "pcg-scalar",
        "validation-forward",
        "squares",
        "predict-forward",
        "model-commitment",
    }
    for _sender, step, payload in host_view:
        if step == "residual":
            body = json.loads(payload)
            assert all(isinstance(c, str) and int(c, 16).bit_length() > 900 for c in body["c"])  # ciphertexts mod n²
    result_text = next(p for _, s, p in host_view if s == "result").decode()
    assert "probabilities" not in result_text
    assert len(json.loads(result_text)["contribution"]["utility_table"]["entries"]) == 4
    arbiter_steps = {step for _, step, _ in run.views[parties[2].address]}
    assert arbiter_steps == {"masked-gradient", "epoch-end", "result"}


def test_ciphertext_outside_the_group_is_blamed_on_its_sender():
    cipher = FastCipher(n_bits=512)
    cipher.bind(cipher.keygen(), 0)
    bad = pack({"exponent": -8, "c": [format(cipher.public_key.nsquare + 1, "x")]})

    with pytest.raises(ProtocolViolation) as caught:
        unpack_vector(cipher, bad, "0xHost", "residual", 1)

    assert caught.value.party == "0xHost" and caught.value.step == "residual"
