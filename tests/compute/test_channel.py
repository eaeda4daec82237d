"""Channel checks: what anyone on the network can send is dropped and logged; only an authentic peer can fail a run."""

from __future__ import annotations

import doctest
import threading
import time

import pytest

import compute.transport
from compute.channel import Channel
from compute.envelope import Header, parse, seal
from compute.errors import (
    DecryptionFailed,
    ForeignMessage,
    PartyTimeout,
    ProtocolAborted,
    RoleFailed,
    SignatureInvalid,
)
from compute.party import Party
from compute.session import RoleOutput, run_in_process
from compute.transcript import FailureLog
from compute.transport import Mailbox
from tests.compute.conftest import WireTap, job_for


def ping_roles(parties: list[Party], rounds: int = 2) -> dict:
    """Every party sends `rounds` numbered messages to every other and reads theirs."""

    def role_for(me: Party):
        def role(ch: Channel) -> RoleOutput:
            got = []
            for r in range(rounds):
                for peer in ch.peers():
                    ch.send(peer, f"round-{r}", f"{me.address}:{r}".encode())
                got += [ch.recv(peer, f"round-{r}").decode() for peer in ch.peers()]
            return RoleOutput(sorted(got), b"\x11" * 32)

        return role

    return {p.address: role_for(p) for p in parties}


def test_transport_docstring_example_runs() -> None:
    assert doctest.testmod(compute.transport).failed == 0


def test_parties_agree_on_one_transcript_of_every_message(make_parties) -> None:
    parties = make_parties(3)
    outcomes = run_in_process(job_for(parties), parties, ping_roles(parties))
    roots = {o.transcript.root for o in outcomes.values()}
    assert len(roots) == 1
    transcript = next(iter(outcomes.values())).transcript
    assert len(transcript) == 3 * 2 * 2  # parties × peers × rounds
    assert outcomes[parties[0].address].value == sorted(f"{p.address}:{r}" for p in parties[1:] for r in range(2))


def test_transcript_entry_has_an_openzeppelin_proof(make_parties) -> None:
    from ledger.merkle import verify

    parties = make_parties(2)
    transcript = next(iter(run_in_process(job_for(parties), parties, ping_roles(parties)).values())).transcript
    entry = transcript.entries[1]
    assert verify(entry.leaf, transcript.proof(entry), transcript.root)


def test_wire_carries_no_plaintext(make_parties) -> None:
    parties = make_parties(2)
    taps: list[WireTap] = []
    run_in_process(
        job_for(parties), parties, ping_roles(parties), transport=lambda m: taps.append(WireTap(m)) or taps[0]
    )
    assert taps[0].seen
    for _, envelope in taps[0].seen:
        assert parse(envelope).header.step.encode() in envelope  # the step name is public header data …
        assert (
            parties[0].address.encode() not in envelope and parties[1].address.encode() not in envelope
        )  # … payloads are not


def run_with_hook(parties, hook, log: FailureLog, timeout: float = 5.0):
    return run_in_process(
        job_for(parties, timeout=timeout),
        parties,
        ping_roles(parties),
        failure_log=log,
        transport=lambda m: WireTap(m, hook),
    )


def assert_aborted(excinfo, log: FailureLog, error: type, party: str, step: str) -> None:
    assert isinstance(excinfo.value.cause, error), excinfo.value
    assert (excinfo.value.party, excinfo.value.step) == (party, step)
    assert log.records[-1].error == error.__name__ and log.records[-1].party == party and log.records[-1].step == step


def test_replayed_message_is_dropped_and_the_run_completes(make_parties) -> None:
    parties, log = make_parties(2), FailureLog()
    sender = parties[0].address

    def hook(to, env):
        return [env, env] if parse(env).header.sender == sender and parse(env).header.step == "round-0" else [env]

    outcomes = run_with_hook(parties, hook, log)
    assert outcomes[parties[1].address].value == [f"{sender}:0", f"{sender}:1"]
    assert not log.records


def test_reordered_messages_are_put_back_in_sequence(make_parties) -> None:
    parties, log = make_parties(2), FailureLog()
    sender, held = parties[0].address, []

    def hook(to, env):
        h = parse(env).header
        if h.sender == sender and h.step == "round-0":
            held.append(env)
            return []
        return [env] + held if h.sender == sender else [env]

    outcomes = run_with_hook(parties, hook, log)
    assert outcomes[parties[1].address].value == [f"{sender}:0", f"{sender}:1"]


def test_message_tampered_in_transit_is_dropped_not_blamed_on_its_sender(make_parties) -> None:
    parties, log = make_parties(2), FailureLog()
    sender = parties[1].address
    tampered = []

    def hook(to, env):
        if parse(env).header.sender == sender and parse(env).header.step == "round-0" and not tampered:
            tampered.append(env[:-80] + bytes([env[-80] ^ 1]) + env[-79:])
            return [tampered[0], env]  # a network attacker's altered copy first, then the real one
        return [env]

    outcomes = run_with_hook(parties, hook, log)
    assert outcomes[parties[0].address].value == [f"{sender}:0", f"{sender}:1"] and not log.records


def test_network_attacker_who_tampers_every_message_causes_a_timeout_that_says_so(make_parties) -> None:
    alice, bob = make_parties(2)
    job = job_for([alice, bob], timeout=0.5)
    channel, box = _lone_channel([alice, bob], job)
    for seq in range(3):
        genuine = seal(alice, bob.identity, Header(job.job_id, alice.address, bob.address, seq, "s"), b"x")
        box.put(genuine[:-80] + bytes([genuine[-80] ^ 1]) + genuine[-79:])
    with pytest.raises(PartyTimeout) as excinfo:
        channel.recv(alice.address, "s")
    assert "3 messages naming it as sender were dropped: unauthenticated or replayed" in excinfo.value.detail
    assert [type(r) for r in channel.rejected] == [SignatureInvalid] * 3


def _lone_channel(parties, job):
    alice, bob = parties[:2]
    return Channel(bob, job, WireTap({}), box := Mailbox()), box


def test_impersonator_cannot_speak_for_a_party(make_parties) -> None:
    alice, bob, mallory = make_parties(3)
    roster_job = job_for([alice, bob], timeout=0.5)
    # Mallory signs with her own key but names Alice as sender.
    forged_sender = Party(mallory.chain_key, alice.transport_private, alice.identity)
    envelope = seal(
        forged_sender, bob.identity, Header(roster_job.job_id, alice.address, bob.address, 0, "round-0"), b"x"
    )
    channel, box = _lone_channel([alice, bob], roster_job)
    box.put(envelope)
    with pytest.raises(PartyTimeout):
        channel.recv(alice.address, "round-0")
    assert [type(r) for r in channel.rejected] == [SignatureInvalid] and channel.rejected[0].party == alice.address


def test_stolen_signature_key_alone_does_not_open_channel(make_parties) -> None:
    alice, bob, mallory = make_parties(3)
    job = job_for([alice, bob])
    # Right chain key (signature passes) but the wrong transport key: the static DH term differs.
    wrong_transport = Party(alice.chain_key, mallory.transport_private, alice.identity)
    channel, box = _lone_channel([alice, bob], job)
    box.put(seal(wrong_transport, bob.identity, Header(job.job_id, alice.address, bob.address, 0, "s"), b"x"))
    with pytest.raises(DecryptionFailed):
        channel.recv(alice.address, "s")


def test_message_from_outside_the_job_is_dropped_as_foreign(make_parties) -> None:
    alice, bob, outsider = make_parties(3)
    job = job_for([alice, bob])
    channel, box = _lone_channel([alice, bob], job)
    box.put(seal(outsider, bob.identity, Header(job.job_id, outsider.address, bob.address, 0, "s"), b"x"))
    box.put(seal(alice, bob.identity, Header(job.job_id, alice.address, bob.address, 0, "s"), b"real"))
    assert channel.recv(alice.address, "s") == b"real"
    assert isinstance(channel.rejected[0], ForeignMessage) and channel.rejected[0].party == outsider.address


def test_message_for_another_job_is_dropped_as_foreign(make_parties) -> None:
    alice, bob = make_parties(2)
    channel, box = _lone_channel([alice, bob], job_for([alice, bob], job_id=1, timeout=0.3))
    box.put(seal(alice, bob.identity, Header(2, alice.address, bob.address, 0, "s"), b"x"))
    with pytest.raises(PartyTimeout):
        channel.recv(alice.address, "s")
    assert isinstance(channel.rejected[0], ForeignMessage) and "job 2" in str(channel.rejected[0])


def test_garbage_is_dropped_and_the_run_completes(make_parties) -> None:
    parties, log = make_parties(2), FailureLog()

    def hook(to, env):
        return [b"CST1\x00\x05hello" + b"\x00" * 200, env] if parse(env).header.step == "round-1" else [env]

    outcomes = run_with_hook(parties, hook, log)
    assert len(outcomes) == 2 and not log.records


def test_an_unexpected_exception_in_a_role_aborts_every_peer_naming_party_and_step(make_parties) -> None:
    parties, log = make_parties(3), FailureLog()
    roles = ping_roles(parties)
    broken = parties[1]

    def crashing(ch: Channel) -> RoleOutput:
        ch.send(parties[0].address, "round-0", b"hello")
        raise KeyError("a bug, not a ComputeError")

    roles[broken.address] = crashing
    started = time.monotonic()
    with pytest.raises(ProtocolAborted) as excinfo:
        run_in_process(job_for(parties, timeout=30.0), parties, roles, failure_log=log)
    assert time.monotonic() - started < 20  # the peers heard of it: nobody waited out the 30 s timeout
    assert isinstance(excinfo.value.cause, RoleFailed) and "KeyError" in excinfo.value.cause.detail
    assert (excinfo.value.party, excinfo.value.step) == (broken.address, "round-0")
    assert log.records[-1].party == broken.address and log.records[-1].error == "RoleFailed"


def test_silent_party_times_out_without_hanging(make_parties) -> None:
    parties, log = make_parties(3), FailureLog()
    silent = parties[2].address
    roles = ping_roles(parties)
    del roles[silent]  # on the roster, but its process never answers
    with pytest.raises(ProtocolAborted) as excinfo:
        run_in_process(job_for(parties, timeout=1.0), parties, roles, failure_log=log)
    assert_aborted(excinfo, log, PartyTimeout, silent, "round-0")
    assert threading.active_count() < 10


def test_certificate_signed_by_another_account_is_rejected(make_parties) -> None:
    from compute.errors import InvalidInput
    from compute.party import PartyIdentity

    alice, mallory = make_parties(2)
    forged = PartyIdentity(alice.address, mallory.identity.transport_key, mallory.identity.certificate)
    with pytest.raises(InvalidInput, match="certified by"):
        forged.verify()
    alice.identity.verify()
