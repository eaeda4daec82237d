"""Every protocol, attacked on the wire at one of its steps.

What anyone on the network could send (a replay, an unsigned or truncated copy, a message from
outside the roster) is dropped: the run completes if the real message also arrives, and times
out naming the silent party if it does not. What only the named sender could have sent (its
own signature over a corrupted ciphertext) aborts naming it and the step, and is recorded.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from compute.envelope import parse
from compute.errors import (
    DecryptionFailed,
    PartyTimeout,
    ProtocolAborted,
    TooManyDropouts,
)
from compute.psi import psi_ecdh, psi_rsa
from compute.secagg import secure_aggregate
from compute.stats import secure_stats
from compute.transcript import FailureLog
from tests.compute.conftest import WireTap


def run_psi(psi):
    def run(parties, log, tap, timeout):
        a, b = parties[:2]
        return psi(
            a,
            b,
            {a.address: ["x", "y"], b.address: ["y", "z"]},
            job_id=61,
            failure_log=log,
            transport=tap,
            timeout=timeout,
        )

    return run


def run_stats(parties, log, tap, timeout):
    return secure_stats(
        parties[:3],
        {p.address: [1.0, 2.0] for p in parties[:3]},
        job_id=62,
        failure_log=log,
        transport=tap,
        timeout=timeout,
    )


def run_secagg(parties, log, tap, timeout):
    clients = parties[:3]
    return secure_aggregate(
        clients,
        parties[3],
        {c.address: np.arange(4) for c in clients},
        job_id=63,
        threshold=3,
        failure_log=log,
        transport=tap,
        timeout=timeout,
        stage_timeout=timeout,
    )


# (protocol runner, a step whose messages we attack)
CASES = {
    "psi-ecdh": (run_psi(psi_ecdh), "doubled"),
    "psi-rsa": (run_psi(psi_rsa), "signed"),
    "stats": (run_stats, "partial"),
    "secagg": (run_secagg, "masked"),
}


def replay(env: bytes) -> list[bytes]:
    return [env, env]


def flip_signature(env: bytes) -> list[bytes]:
    return [env[:-65] + bytes(65)]  # an unsigned message: the signature is all zeros


def flip_ciphertext_and_resign(parties) -> Callable[[bytes], list[bytes]]:
    def attack(env: bytes) -> list[bytes]:
        from eth_utils import keccak

        from compute.envelope import SIGNATURE_LABEL

        sender = next(p for p in parties if p.address == parse(env).header.sender)
        body = env[:-65]
        body = body[:-1] + bytes([body[-1] ^ 1])
        return [body + sender.sign_digest(keccak(SIGNATURE_LABEL + body))]  # signed by the sender, but corrupted

    return attack


def truncate(env: bytes) -> list[bytes]:
    return [env[:20]]


def drop(env: bytes) -> list[bytes]:
    return []  # the hook then silences this sender for the rest of the run


def unsigned_copy_first(env: bytes) -> list[bytes]:
    return [env[:-65] + bytes(65), env]  # an outsider's unsigned copy, then the real message


def truncated_copy_first(env: bytes) -> list[bytes]:
    return [env[:20], env]


ATTACKS = {
    "unsigned": (lambda parties: flip_signature, PartyTimeout),
    "corrupted": (flip_ciphertext_and_resign, DecryptionFailed),
    "malformed": (lambda parties: truncate, PartyTimeout),
    "silent": (lambda parties: drop, PartyTimeout),
}
HARMLESS = {"replayed": replay, "unsigned-copy": unsigned_copy_first, "truncated-copy": truncated_copy_first}


def _tap_step(step: str, tamper: Callable[[bytes], list[bytes]], victims: list[str], silence: bool = False):
    def hook(to, env):
        header = parse(env).header
        if silence and victims and header.sender == victims[0]:
            return []
        if header.step == step and not victims:
            victims.append(header.sender)
            return tamper(env)
        return [env]

    return hook


@pytest.mark.parametrize("attack", sorted(ATTACKS))
@pytest.mark.parametrize("protocol", sorted(CASES))
def test_attack_fails_the_run_naming_party_and_step_and_is_recorded(make_parties, protocol, attack) -> None:
    parties, log = make_parties(4), FailureLog()
    run, step = CASES[protocol]
    build, error = ATTACKS[attack]
    victims: list[str] = []
    hook = _tap_step(step, build(parties), victims, silence=attack == "silent")

    with pytest.raises(ProtocolAborted) as excinfo:
        run(parties, log, lambda mailboxes: WireTap(mailboxes, hook), 2.0)
    cause = excinfo.value.cause
    if protocol == "secagg" and attack != "corrupted":
        # a client whose masked input never arrives is a dropout; with threshold 3 of 3 the server
        # refuses, naming the client that missed the deadline
        assert isinstance(cause, TooManyDropouts) and excinfo.value.party == victims[0]
        assert log.records[-1].error == "TooManyDropouts"
        return
    assert isinstance(cause, error), repr(cause)
    # a silent party may first be missed by a peer that already moved on to the transcript swap
    assert excinfo.value.step == step or (error is PartyTimeout and excinfo.value.step == "transcript")
    assert excinfo.value.party == victims[0]
    assert log.records and log.records[-1].error == error.__name__ and log.records[-1].party == victims[0]


@pytest.mark.parametrize("attack", sorted(HARMLESS))
@pytest.mark.parametrize("protocol", sorted(CASES))
def test_outsider_copies_and_replays_are_dropped_and_the_run_completes(make_parties, protocol, attack) -> None:
    parties, log = make_parties(4), FailureLog()
    run, step = CASES[protocol]
    victims: list[str] = []

    result = run(parties, log, lambda mailboxes: WireTap(mailboxes, _tap_step(step, HARMLESS[attack], victims)), 5.0)

    assert victims and result.result_hash is not None and not log.records


def test_messages_held_back_by_the_network_are_put_back_in_sequence(make_parties) -> None:
    parties, log = make_parties(4)[:3], FailureLog()
    held: list[bytes] = []

    def hook(to, env):
        header = parse(env).header
        if header.step == "shares" and header.sender == parties[1].address and header.receiver == parties[0].address:
            held.append(env)
            return []
        if (
            header.step == "transcript"
            and header.sender == parties[1].address
            and header.receiver == parties[0].address
        ):
            return [env, *held]
        return [env]

    result = secure_stats(
        parties,
        {p.address: [1.0] for p in parties},
        job_id=64,
        failure_log=log,
        transport=lambda m: WireTap(m, hook),
        timeout=5.0,
        receiver=parties[2].address,
    )
    assert held and result.value.count == 3 and not log.records


@pytest.mark.parametrize("protocol", sorted(CASES))
def test_message_from_a_party_outside_the_job_is_dropped_and_the_run_completes(make_parties, protocol) -> None:
    from compute.envelope import Header, seal

    parties, log = make_parties(5), FailureLog()
    outsider = parties[4]
    run, step = CASES[protocol]
    injected: list[str] = []

    def hook(to, env):
        header = parse(env).header
        if header.step == step and not injected:
            injected.append(to)
            roster_identity = next(p.identity for p in parties if p.address == to)
            forged = seal(outsider, roster_identity, Header(header.job_id, outsider.address, to, 0, step), b"let me in")
            return [forged, env]
        return [env]

    result = run(parties, log, lambda mailboxes: WireTap(mailboxes, hook), 5.0)
    assert injected and result.result_hash is not None and not log.records
