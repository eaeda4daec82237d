"""FedAvg's privacy promises: no single update reaches the aggregator, not even as a difference of two
coalition sums; the ε it reports counts every release (checked against Google's dp-accounting); a real
straggler is dropped from its round and training goes on."""

from __future__ import annotations

import numpy as np
import pytest

from compute.errors import InvalidInput
from compute.fl.datasets import load_vertical, non_iid_parts
from compute.fl.dp import clip
from compute.fl.fedavg import DPParams, FedAvgParams, run_fedavg
from compute.fl.fedavg import server as fedavg_server
from compute.fl.fedavg.client import FRACTION_BITS, SINGLE_UPDATE
from compute.fl.models import sgd
from compute.party import Party
from tests.compute.conftest import SlowLink

ROUNDS = 2


@pytest.fixture(scope="module")
def split():
    data = load_vertical("breast")
    X, y = data.joined(), data.y
    order = np.random.default_rng(0).permutation(len(y))
    parts = non_iid_parts(X[order[:420]], y[order[:420]], 3, seed=3)
    return parts, (X[order[420:]], y[order[420:]])


@pytest.fixture(scope="module")
def observed(split):
    """One default run (DP on, contribution on) with every coalition sum the aggregator rebuilds models from."""
    parts, validation = split
    server, clients = Party.generate(), [Party.generate() for _ in range(3)]
    params = FedAvgParams(rounds=ROUNDS)
    seen: list[list[tuple[np.ndarray | None, int]]] = []
    real = fedavg_server.reconstruct

    def spy(initial, round_sums):
        seen.append([(None if s is None else s.copy(), n) for s, n in round_sums])
        return real(initial, round_sums)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fedavg_server, "reconstruct", spy)
        run = run_fedavg(
            server, clients, {c.address: p for c, p in zip(clients, parts)}, validation, params, job_id=81,
            record_view=True,
        )  # fmt: skip
    coalitions = [(0,), (1,), (2,), (0, 1), (0, 2), (1, 2), (0, 1, 2)]  # the order compute.fl.fedavg scores them
    return run, params, dict(zip(coalitions, seen, strict=True))


def true_update(params: FedAvgParams, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """What client 0 put into round 0's sum before noise: its clipped update (what an attacker wants)."""
    spec = params.build_model(X.shape[1])
    initial = spec.init(params.seed)
    trained = sgd(
        spec, initial, X, y, epochs=params.local_epochs, lr=params.learning_rate, batch_size=params.batch_size,
        seed=params.seed * 1_000_003,
    )  # fmt: skip
    return clip(trained - initial, params.dp.clip_norm)


def test_contribution_scores_without_dp_are_refused() -> None:
    with pytest.raises(InvalidInput, match="S\\(0,1,2\\)"):
        FedAvgParams(dp=None)
    assert FedAvgParams(dp=None, contribution=False).dp is None


def test_aggregator_cannot_isolate_client_0_as_s012_minus_s12(observed, split) -> None:
    run, params, sums = observed
    parts, _ = split
    x0 = true_update(params, *parts[0])
    noise_scale = params.dp.noise_multiplier * params.dp.clip_norm * np.sqrt(x0.size)  # one release's noise norm

    (s012, _), (s12, _) = sums[(0, 1, 2)][0], sums[(1, 2)][0]
    attack = s012 - s12
    assert np.linalg.norm(attack - x0) > 0.5 * noise_scale  # the attack's error is the noise, ≥ ‖x0‖ many times
    assert np.linalg.norm(x0) <= params.dp.clip_norm + 1e-9
    # the singleton "sum" the aggregator receives carries the full noise too, not the update
    singles = [
        p for _, step, p in run.server_view if step.endswith(SINGLE_UPDATE) and step.endswith("/r0/" + SINGLE_UPDATE)
    ]
    assert singles
    for payload in singles:
        received = np.frombuffer(payload, dtype="<i8") / 2.0**FRACTION_BITS
        assert np.linalg.norm(received - x0) > 0.5 * noise_scale


def test_reported_epsilon_counts_every_release_and_matches_dp_accounting(observed) -> None:
    # dp-accounting (Google's RDP accountant) is the independent reference; see pyproject's test extras.
    from dp_accounting import dp_event, rdp

    run, params, _ = observed
    dims = run.model.size
    releases = ROUNDS * (1 + 3)  # per round: the training sum, then {0}, {0,1}, {0,2} for client 0 (likewise 1, 2)
    sensitivity = params.dp.clip_norm * 2**FRACTION_BITS + np.sqrt(dims) / 2
    z = params.dp.noise_multiplier * params.dp.clip_norm * 2**FRACTION_BITS / sensitivity
    accountant = rdp.RdpAccountant()
    accountant.compose(dp_event.SelfComposedDpEvent(dp_event.GaussianDpEvent(z), releases))
    reference = accountant.get_epsilon(params.dp.delta)

    reported = run.result.value["epsilon"]
    assert reported == pytest.approx(reference, rel=0.01)
    assert set(run.result.value["epsilon_per_client"].values()) == {reported}  # all three in every release
    # training alone would have been ROUNDS releases: the contribution phase is counted, not hidden
    training_only = rdp.RdpAccountant()
    training_only.compose(dp_event.SelfComposedDpEvent(dp_event.GaussianDpEvent(z), ROUNDS))
    assert reported > 1.5 * training_only.get_epsilon(params.dp.delta)


def test_a_real_straggler_is_dropped_from_its_round_and_training_goes_on(split) -> None:
    parts, validation = split
    server, clients = Party.generate(), [Party.generate() for _ in range(3)]
    straggler = clients[2]
    params = FedAvgParams(rounds=3, stage_timeout=1.0, dp=DPParams(clip_norm=10.0, noise_multiplier=1e-6))
    links: list[SlowLink] = []

    def network(mailboxes):
        # the straggler's round-1 masked update reaches the aggregator only after that stage's deadline
        links.append(SlowLink(mailboxes, straggler.address, "round-1/masked", server.address, "round-1/unmask"))
        return links[0]

    run = run_fedavg(
        server, clients, {c.address: p for c, p in zip(clients, parts)}, validation, params, job_id=82,
        transport=network,
    )  # fmt: skip

    summary, addresses = run.result.value, [c.address for c in clients]
    assert links[0].late_deliveries == 1
    assert summary["rounds_clients"]["1"] == addresses[:2]  # round 1 went on without the straggler
    assert summary["rounds_clients"]["0"] == summary["rounds_clients"]["2"] == addresses  # and it came back
    assert summary["validation"]["auc"] > 0.9
    assert run.report is not None and len(run.report.weights) == 3  # contribution scored on what each round held
