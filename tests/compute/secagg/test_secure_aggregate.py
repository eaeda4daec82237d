"""Secure aggregation over the real transport: exact sums, dropouts, stragglers never unmasked, aborts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from compute.errors import NotAParty, PeerAborted, ProtocolAborted, TooManyDropouts
from compute.secagg import secure_aggregate
from compute.transcript import FailureLog
from tests.compute.conftest import SlowLink

STAGE = 1.0  # generous: a loaded CI machine must not turn a slow client into a dropout


@pytest.fixture
def group(make_parties):
    parties = make_parties(11)
    return parties[:10], parties[10]


def vectors_for(clients, seed: int, dim: int = 8) -> dict:
    rng = np.random.default_rng(seed)
    return {c.address: rng.integers(-(10**6), 10**6, size=dim) for c in clients}


@pytest.mark.parametrize("n", [3, 5])
def test_sum_without_dropouts_is_exact(make_parties, n) -> None:
    parties = make_parties(n + 1)
    clients, server = parties[:n], parties[n]
    vectors = vectors_for(clients, n)
    result = secure_aggregate(clients, server, vectors, job_id=31, threshold=n - 1)
    assert np.array_equal(result.value["sum"], sum(vectors.values()))
    assert [m.rows for m in result.parties[:n]] == [1] * n


def test_float_vectors_sum_within_fixed_point_precision(make_parties) -> None:
    parties = make_parties(4)
    vectors = {c.address: np.linspace(-1, 1, 6) * (i + 1) for i, c in enumerate(parties[:3])}
    result = secure_aggregate(parties[:3], parties[3], vectors, job_id=32, threshold=2, fraction_bits=20)
    assert np.allclose(result.value["sum"], sum(vectors.values()), atol=3 * 2**-21)


def test_four_dropouts_across_every_stage_give_the_exact_sum(group) -> None:
    clients, server = group
    vectors = vectors_for(clients, 7)
    drop = {
        clients[0].address: "advertise",
        clients[2].address: "share",
        clients[4].address: "masked",
        clients[6].address: "unmask",
    }
    result = secure_aggregate(clients, server, vectors, job_id=33, threshold=6, drop=drop, stage_timeout=STAGE)
    included = [c.address for i, c in enumerate(clients) if i not in (0, 2, 4)]  # 6 sent its input, then left
    assert np.array_equal(result.value["sum"], sum(vectors[a] for a in included))
    assert result.value["dropped"] == [0, 2, 4]


def test_five_dropouts_abort_with_no_output_and_a_recorded_failure(group) -> None:
    clients, server = group
    log = FailureLog()
    drop = {
        c.address: stage
        for c, stage in zip(clients[:5], ["masked", "masked", "unmask", "unmask", "unmask"], strict=True)
    }
    with pytest.raises(ProtocolAborted) as excinfo:
        secure_aggregate(
            clients,
            server,
            vectors_for(clients, 8),
            job_id=34,
            threshold=6,
            drop=drop,
            stage_timeout=STAGE,
            failure_log=log,
        )
    assert isinstance(excinfo.value.cause, TooManyDropouts)
    # the first client that missed the last deadline is at fault, not the server
    assert excinfo.value.party == clients[2].address and excinfo.value.step == "unmasked"
    assert log.records[-1].error == "TooManyDropouts" and log.records[-1].party == clients[2].address


def test_real_straggler_is_dropped_learns_it_and_its_self_mask_is_never_revealed(group, monkeypatch) -> None:
    from compute import session

    clients, server = group
    vectors = vectors_for(clients, 9)
    straggler = clients[3]
    outcomes = {}
    real = session.run_role
    monkeypatch.setattr(session, "run_role", lambda ch, role: outcomes.setdefault(ch.address, real(ch, role)))
    links: list[SlowLink] = []

    def network(mailboxes):
        links.append(SlowLink(mailboxes, straggler.address, "masked", server.address, "unmask"))
        return links[0]

    result = secure_aggregate(
        clients,
        server,
        vectors,
        job_id=35,
        threshold=6,
        stage_timeout=STAGE,
        timeout=5,
        record_view=True,
        transport=network,
    )
    assert np.array_equal(result.value["sum"], sum(v for a, v in vectors.items() if a != straggler.address))
    assert result.value["dropped"] == [3] and links[0].late_deliveries == 1
    # the straggler ran to completion and was told the round ended without it (no timeout, no abort)
    assert outcomes[straggler.address].value == {"accepted": None, "dropped_at": "masked"}
    assert outcomes[clients[0].address].value["accepted"] == [i for i in range(10) if i != 3]
    answers = [json.loads(p) for _, step, p in outcomes[server.address].view if step == "unmasked"]
    assert answers and all("3" not in a["b"] and "3" in a["key"] for a in answers)


def test_a_slow_client_that_starts_after_the_first_deadline_is_dropped_and_told(make_parties) -> None:
    import threading

    from compute.channel import Job
    from compute.envelope import parse
    from compute.secagg import AggregationParams
    from compute.secagg.protocol import client_role, server_role
    from compute.session import run_in_process
    from tests.compute.conftest import WireTap

    parties = make_parties(5)
    clients, server = parties[:4], parties[4]
    order = [c.address for c in clients]
    vectors = vectors_for(clients, 4, dim=3)
    params = AggregationParams(3, 3, 0, STAGE)
    deadline_passed = threading.Event()

    def hook(to, env):
        if parse(env).header.step == "roster1":  # the server has closed the advertise stage
            deadline_passed.set()
        return [env]

    honest = client_role(3, vectors[order[3]], params, order, server.address)

    def slow(ch):  # a slow machine: the same honest code, started only once the first deadline has passed
        assert deadline_passed.wait(30), "the server never closed the advertise stage"
        return honest(ch)

    roles = {a: client_role(i, vectors[a], params, order, server.address) for i, a in enumerate(order[:3])}
    roles |= {order[3]: slow, server.address: server_role(params, order)}
    job = Job(44, "slow-client", {p.address: p.identity for p in parties}, 10)

    outcomes = run_in_process(job, parties, roles, transport=lambda m: WireTap(m, hook))

    assert outcomes[server.address].value["clients"] == [0, 1, 2]
    assert np.array_equal(outcomes[server.address].value["sum"], sum(vectors[a] for a in order[:3]))
    assert outcomes[order[3]].value == {"accepted": None, "dropped_at": "advertise"}


def test_ten_vectors_of_three_tenths_sum_to_three_by_default(make_parties) -> None:
    parties = make_parties(11)
    vectors = {c.address: np.full(4, 0.3) for c in parties[:10]}
    result = secure_aggregate(parties[:10], parties[10], vectors, job_id=41, threshold=7)
    assert np.allclose(result.value["sum"], 3.0, atol=result.params["precision"])
    assert result.params["precision"] <= 1e-8


def test_floats_with_zero_fraction_bits_are_refused_not_rounded(make_parties) -> None:
    from compute.errors import EncodingOverflow

    parties = make_parties(4)
    vectors = {c.address: np.full(3, 0.3) for c in parties[:3]}
    with pytest.raises(EncodingOverflow, match="fraction_bits"):
        secure_aggregate(parties[:3], parties[3], vectors, job_id=42, threshold=2, fraction_bits=0)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.array([1.0, np.nan]), "NaN"),
        (np.zeros((2, 2)), "one-dimensional"),
        (np.array([]), "non-empty"),
        (np.array(["a", "b"]), "not numbers"),
    ],
)
def test_bad_vectors_are_refused_before_anything_is_sent(make_parties, bad, match) -> None:
    from compute.errors import InvalidInput

    parties = make_parties(4)
    vectors = {c.address: np.zeros(2) for c in parties[:3]} | {parties[0].address: bad}
    with pytest.raises(InvalidInput, match=match):
        secure_aggregate(parties[:3], parties[3], vectors, job_id=43, threshold=2)


def test_server_view_holds_no_raw_vector(group, monkeypatch) -> None:
    from compute import session

    clients, server = group
    vectors = vectors_for(clients, 10, dim=4)
    views = {}
    real = session.run_role
    monkeypatch.setattr(session, "run_role", lambda ch, role: views.setdefault(ch.address, real(ch, role)))
    secure_aggregate(clients, server, vectors, job_id=36, threshold=6, record_view=True)
    for sender, _step, payload in views[server.address].view:
        if sender in vectors:
            assert vectors[sender].astype(np.int64).tobytes() not in payload
            assert vectors[sender].astype(np.int64)[:1].tobytes() not in payload


def test_a_client_outside_the_job_is_refused(group, make_parties) -> None:
    clients, server = group
    outsider = make_parties(1)[0]
    with pytest.raises(NotAParty):
        secure_aggregate(
            clients,
            server,
            {**vectors_for(clients, 1), outsider.address: np.zeros(8, dtype=int)},
            job_id=37,
            threshold=6,
        )


def test_clients_learn_of_an_abort_instead_of_waiting(group) -> None:
    clients, server = group
    drop = {c.address: "advertise" for c in clients[:5]}
    with pytest.raises(ProtocolAborted) as excinfo:
        secure_aggregate(
            clients, server, vectors_for(clients, 2), job_id=38, threshold=6, drop=drop, stage_timeout=STAGE, timeout=30
        )
    assert excinfo.value.step == "advertise"
    assert not isinstance(excinfo.value.cause, PeerAborted)


def test_rounds_on_one_channel_stay_apart_even_with_a_straggler(make_parties) -> None:
    from compute.channel import Job
    from compute.secagg import AggregationParams
    from compute.secagg.protocol import client_role, server_role
    from compute.session import RoleOutput, run_in_process

    parties = make_parties(5)
    clients, server = parties[:4], parties[4]
    order = [c.address for c in clients]
    rounds = [vectors_for(clients, seed, dim=3) for seed in (1, 2, 3)]

    def params(t: int) -> AggregationParams:
        return AggregationParams(3, 3, 0, STAGE, instance=f"round-{t}")

    def client(i: int):
        def role(ch):
            for t, vectors in enumerate(rounds):
                client_role(i, vectors[order[i]], params(t), order, server.address)(ch)
            return RoleOutput(None, None, finishers=[ch.address])

        return role

    def aggregator(ch):
        sums = [server_role(params(t), order)(ch).value for t in range(len(rounds))]
        return RoleOutput(sums, None, finishers=[ch.address])

    job = Job(39, "rounds", {p.address: p.identity for p in parties}, 10)
    roles = {a: client(i) for i, a in enumerate(order)} | {server.address: aggregator}
    # client 0 straggles in round 0: its masked input arrives after the server moved on
    network = lambda m: SlowLink(m, order[0], "round-0/masked", server.address, "round-0/unmask")  # noqa: E731  # a one-line transport factory, read where it is used
    outcomes = run_in_process(job, parties, roles, transport=network)
    sums = outcomes[server.address].value
    assert sums[0]["clients"] == [1, 2, 3]
    for t, out in enumerate(sums):
        assert np.array_equal(out["sum"], sum(rounds[t][order[i]] for i in out["clients"]))
    assert sums[1]["clients"] == sums[2]["clients"] == [0, 1, 2, 3]
