"""Post-finality writes (final records, transaction keys, pruning) leave the path to the next block, never lost.

Against a real etcd, with a fake clock: the proposer records a final block at its first idle
moment; another node records it only after the grace, and only if it is still missing (the
proposer crashed); a failed write stays queued.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_utils import keccak

from ledger.consensus.deferred import DeferredWrites
from ledger.consensus.etcd import EtcdClient, EtcdError
from ledger.consensus.messages import FinalRecord
from ledger.consensus.mirror import View
from ledger.consensus.rounds import Rounds, prune_ops
from ledger.consensus.timing import Timing
from tests.ledger.consensus.etcd_cluster import one_member_rounds

CHAIN_ID = 727_112
TIMING = Timing(final_grace=0.5)
ORG = b"\x11" * 20
OTHER = b"\x22" * 20


class Clock:
    """The test's clock: it moves only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def rounds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rounds]:
    with one_member_rounds(Path(tmp_path_factory.mktemp("etcd-deferred")), CHAIN_ID) as made:
        yield made


def _writer(rounds: Rounds, clock: Clock) -> DeferredWrites:
    return DeferredWrites(rounds.client, rounds.keyspace, rounds, TIMING, clock)


def _final(rounds: Rounds, height: int) -> FinalRecord | None:
    kv = rounds.client.get(rounds.keyspace.final(height))
    return None if kv is None else FinalRecord.from_bytes(kv.value)


def test_the_proposer_records_final_at_once_and_the_others_only_after_the_grace(rounds: Rounds) -> None:
    clock = Clock()
    proposer, other = _writer(rounds, clock), _writer(rounds, clock)
    block = keccak(b"block 1")
    proposer.finalise(1, 2, block, proposed_by_us=True)
    other.finalise(1, 2, block, proposed_by_us=False)

    other.flush(View())
    assert _final(rounds, 1) is None, "another node recorded the block before the grace"
    proposer.flush(View())
    assert _final(rounds, 1) == FinalRecord(2, block)


def test_a_crashed_proposers_block_is_recorded_by_another_node_after_the_grace(rounds: Rounds) -> None:
    clock = Clock()
    other = _writer(rounds, clock)
    block = keccak(b"block 2")
    other.finalise(2, 0, block, proposed_by_us=False)
    other.flush(View())
    assert _final(rounds, 2) is None

    clock.now += TIMING.final_grace
    other.flush(View())
    assert _final(rounds, 2) == FinalRecord(0, block)


def test_a_block_already_recorded_in_the_view_is_not_written_again(rounds: Rounds) -> None:
    clock = Clock()
    other = _writer(rounds, clock)
    other.finalise(3, 0, keccak(b"block 3"), proposed_by_us=False)
    view = View(final={3: FinalRecord(0, keccak(b"block 3")).to_bytes()})

    clock.now += TIMING.final_grace
    other.flush(view)
    # etcd lacks it only because this test never wrote it: the writer trusted the view and skipped it.
    assert _final(rounds, 3) is None
    other.flush(View())
    assert _final(rounds, 3) is None, "the entry was dropped once seen final"


def test_only_our_final_transactions_keys_are_deleted_and_pruning_runs_when_idle(rounds: Rounds) -> None:
    ks, client = rounds.keyspace, rounds.client
    ours, theirs, pending = keccak(b"tx ours"), keccak(b"tx theirs"), keccak(b"tx pending")
    view = View()
    for org, tx in ((ORG, ours), (OTHER, theirs), (ORG, pending)):
        client.put(ks.tx(org, tx), b"raw")
        view.txs[tx] = (1, org, b"raw")
    rounds.finalise(4, 0, keccak(b"block 4"))
    writer = _writer(rounds, Clock())

    writer.delete_txs(ORG, [ours, theirs], view)
    writer.prune(prune_ops(ks, ORG, 5))
    assert client.get(ks.tx(ORG, ours)) is not None, "a deletion ran before the idle flush"
    writer.flush(view)

    assert client.get(ks.tx(ORG, ours)) is None
    assert client.get(ks.tx(OTHER, theirs)) is not None, "another organisation's key was deleted"
    assert client.get(ks.tx(ORG, pending)) is not None, "a transaction not yet final was deleted"
    assert _final(rounds, 4) is None, "pruning below height 5 left final/4"


def test_a_write_that_fails_stays_queued(rounds: Rounds, tmp_path: Path) -> None:
    clock = Clock()
    dead = EtcdClient(["http://127.0.0.1:9"])  # nothing listens on the discard port
    writer = DeferredWrites(dead, rounds.keyspace, Rounds(dead, rounds.keyspace, CHAIN_ID), TIMING, clock)
    writer.finalise(6, 0, keccak(b"block 6"), proposed_by_us=True)
    with pytest.raises(EtcdError):
        writer.flush(View())
    dead.close()

    writer.client = rounds.client
    writer.rounds = rounds
    writer.flush(View())
    assert _final(rounds, 6) == FinalRecord(0, keccak(b"block 6"))


def test_a_stopping_node_writes_everything_queued_grace_or_not(rounds: Rounds) -> None:
    clock = Clock()
    other = _writer(rounds, clock)
    other.finalise(7, 1, keccak(b"block 7"), proposed_by_us=False)

    other.flush(View(), everything=True)
    assert _final(rounds, 7) == FinalRecord(1, keccak(b"block 7"))
