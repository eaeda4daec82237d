"""A round is never both abandoned and final, and no two blocks of one height ever both hold a quorum of seals.

The writes of `ledger.consensus.rounds` run against a real etcd: first each guard alone,
then sealers, abandoners and finalisers racing on many heights.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_keys import keys
from eth_utils import keccak

from ledger.chain.sealing import SealError, recover_sealer, sign_seal
from ledger.consensus.messages import FinalRecord
from ledger.consensus.rounds import Rounds, abandon_limit
from ledger.consensus.validators import quorum
from tests.ledger.consensus.etcd_cluster import one_member_rounds

CHAIN_ID = 727_111
KEYS = [keys.PrivateKey(bytes([0x61 + i]) * 32) for i in range(4)]
VALIDATORS = frozenset(k.public_key.to_canonical_address() for k in KEYS)
QUORUM = quorum(len(VALIDATORS))
RACES = 20


@pytest.fixture(scope="module")
def rounds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rounds]:
    with one_member_rounds(Path(tmp_path_factory.mktemp("etcd-rounds")), CHAIN_ID) as made:
        yield made


def _block(height: int, round_: int) -> bytes:
    return keccak(b"block %d/%d" % (height, round_))


def _valid_sealers(r: Rounds, height: int, round_: int) -> set[bytes]:
    """Validators whose seal of the round's block is in etcd and verifies."""
    out = set()
    for v in VALIDATORS:
        kv = r.client.get(r.keyspace.seal(v, height, round_, _block(height, round_)))
        if kv is None:
            continue
        try:
            if recover_sealer(CHAIN_ID, _block(height, round_), kv.value) == v:
                out.add(v)
        except SealError:
            continue
    return out


def _abandon(r: Rounds, height: int, round_: int, sealed: set[bytes]) -> bool:
    return r.abandon(height, round_, b'{"by": "test"}', _block(height, round_), VALIDATORS, sealed)


def test_the_limit_is_quorum_minus_one_minus_f() -> None:
    assert [abandon_limit(n) for n in (1, 2, 3, 4, 5, 7, 10)] == [0, 1, 2, 1, 2, 2, 3]


def test_a_round_holding_two_seals_of_four_is_never_abandoned(rounds: Rounds) -> None:
    height = 1
    for key in KEYS[:2]:
        assert rounds.seal(key, height, 0, _block(height, 0))

    assert not _abandon(rounds, height, 0, _valid_sealers(rounds, height, 0))
    assert rounds.client.get(rounds.keyspace.abandoned(height, 0)) is None
    for key in KEYS[2:]:
        assert rounds.seal(key, height, 0, _block(height, 0))
    assert rounds.finalise(height, 0, _block(height, 0))


def test_an_abandoner_with_a_stale_view_fails_when_a_second_seal_landed(rounds: Rounds) -> None:
    height = 2
    assert rounds.seal(KEYS[0], height, 0, _block(height, 0))
    seen = _valid_sealers(rounds, height, 0)
    assert rounds.seal(KEYS[1], height, 0, _block(height, 0))

    assert not _abandon(rounds, height, 0, seen)
    assert rounds.client.get(rounds.keyspace.abandoned(height, 0)) is None


def test_after_abandonment_no_seal_and_no_final_record_enter_the_round(rounds: Rounds) -> None:
    height = 3
    assert rounds.seal(KEYS[0], height, 0, _block(height, 0))
    assert _abandon(rounds, height, 0, _valid_sealers(rounds, height, 0))

    assert not rounds.seal(KEYS[1], height, 0, _block(height, 0))
    assert not rounds.finalise(height, 0, _block(height, 0))
    # Round 1 opens only now; before round 0's abandonment nobody could seal in it.
    assert not rounds.seal(KEYS[1], height + 100, 1, _block(height + 100, 1))
    assert rounds.seal(KEYS[1], height, 1, _block(height, 1))


def _race(r: Rounds, height: int, early: list[keys.PrivateKey]) -> None:
    """Early sealers seal round 0 while two abandoners and two finalisers race them; then everyone moves on."""
    ks = r.keyspace
    start = threading.Barrier(len(KEYS) + 4)
    abandoners_done = threading.Barrier(2 + len(KEYS))
    final = threading.Event()

    def sealer(key: keys.PrivateKey) -> None:
        start.wait()
        if key in early:
            r.seal(key, height, 0, _block(height, 0))
        abandoners_done.wait()
        round_ = 1 if r.client.get(ks.abandoned(height, 0)) is not None else 0
        r.seal(key, height, round_, _block(height, round_))

    def abandoner() -> None:
        start.wait()
        for _ in range(5):
            if _abandon(r, height, 0, _valid_sealers(r, height, 0)):
                break
        abandoners_done.wait()

    def finaliser() -> None:
        start.wait()
        while not final.is_set():
            for round_ in (0, 1):
                if len(_valid_sealers(r, height, round_)) >= QUORUM:
                    r.finalise(height, round_, _block(height, round_))
            if r.client.get(ks.final(height)) is not None:
                final.set()

    threads = [threading.Thread(target=sealer, args=(k,)) for k in KEYS]
    threads += [threading.Thread(target=abandoner) for _ in range(2)]
    threads += [threading.Thread(target=finaliser) for _ in range(2)]
    for t in threads:
        t.start()
    reached = final.wait(timeout=60)
    final.set()
    for t in threads:
        t.join(timeout=30)
    assert reached, f"height {height}: no final record within 60 s"


def test_racing_sealers_abandoners_and_finalisers_never_leave_two_quorum_blocks_at_one_height(
    rounds: Rounds,
) -> None:
    rng = random.Random(14)
    abandoned_rounds = 0
    for height in range(100, 100 + RACES):
        early = rng.sample(KEYS, rng.choice([0, 1, 2, 3, 4, 4]))

        _race(rounds, height, early)

        kv = rounds.client.get(rounds.keyspace.final(height))
        assert kv is not None
        record = FinalRecord.from_bytes(kv.value)
        with_quorum = [r for r in (0, 1) if len(_valid_sealers(rounds, height, r)) >= QUORUM]
        assert with_quorum == [record.round], f"height {height}: quorum blocks in rounds {with_quorum}"
        assert record.block_hash == _block(height, record.round)
        assert rounds.client.get(rounds.keyspace.abandoned(height, record.round)) is None
        abandoned_rounds += rounds.client.get(rounds.keyspace.abandoned(height, 0)) is not None
    # Heights with at most one early sealer must have been abandoned: the race took both paths.
    assert 0 < abandoned_rounds < RACES


def test_a_forged_seal_key_counts_against_abandonment_but_not_towards_quorum(rounds: Rounds) -> None:
    height = 4
    forger, honest = KEYS[3], KEYS[0]
    # A faulty validator writes a seal over another block under the round's key.
    wrong = sign_seal(forger, CHAIN_ID, b"\x99" * 32)
    key = rounds.keyspace.seal(forger.public_key.to_canonical_address(), height, 0, _block(height, 0))
    rounds.client.put(key, wrong)
    assert rounds.seal(honest, height, 0, _block(height, 0))

    assert len(_valid_sealers(rounds, height, 0)) == 1
    holding = {forger.public_key.to_canonical_address(), honest.public_key.to_canonical_address()}
    assert not _abandon(rounds, height, 0, holding)
    assert not _abandon(rounds, height, 0, {honest.public_key.to_canonical_address()})
