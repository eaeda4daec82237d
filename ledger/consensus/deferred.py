"""The etcd writes a node makes after a block is final, kept off the path to the next block.

None of them is waited for by any node: every node commits a block as soon as it sees a
quorum of seals, and a round with a quorum can no longer be abandoned (`ledger.consensus.rounds`).
So they are written when the consensus loop is idle (gathering transactions, waiting for seals):
- the final record `final/h`, which serves nodes that catch up later. Its proposer writes it
  at the first idle moment; every other node writes it only if it is still missing
  `Timing.final_grace` after that node committed the block (the proposer may have crashed),
  which spares etcd's Raft a losing compare-and-create from every node at every height;
- the deletion of this node's transaction keys that a final block holds;
- the pruning of old heights (`ledger.consensus.rounds.prune_ops`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ledger.consensus.etcd import EtcdClient, delete_op
from ledger.consensus.keyspace import Keyspace
from ledger.consensus.mirror import View
from ledger.consensus.rounds import Rounds
from ledger.consensus.timing import Timing

# Operations per etcd transaction (etcd's default --max-txn-ops is 128).
BATCH = 100


@dataclass(frozen=True)
class _FinalDue:
    height: int
    round: int
    block_hash: bytes
    due: float


class DeferredWrites:
    """Queues the post-finality writes of one node and flushes them when the loop is idle."""

    def __init__(
        self,
        client: EtcdClient,
        keyspace: Keyspace,
        rounds: Rounds,
        timing: Timing,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self._clock = clock
        self.keyspace = keyspace
        self.rounds = rounds
        self.timing = timing
        self._finals: list[_FinalDue] = []
        self._deletes: list[dict[str, Any]] = []

    def finalise(self, height: int, round_: int, block_hash: bytes, proposed_by_us: bool) -> None:
        """Record round r of h final when idle (at once if we proposed it, else after the grace)."""
        due = self._clock() + (0.0 if proposed_by_us else self.timing.final_grace)
        self._finals.append(_FinalDue(height, round_, block_hash, due))

    def delete_txs(self, org: bytes, final_txs: Iterable[bytes], view: View) -> None:
        """Queue the etcd keys of those transactions of a final block that `org` ordered (hashes given)."""
        txs = view.txs
        self._deletes += [delete_op(self.keyspace.tx(org, h)) for h in final_txs if txs.get(h, (0, b""))[1] == org]

    def prune(self, ops: list[dict[str, Any]]) -> None:
        """Queue delete-range operations."""
        self._deletes += ops

    def flush(self, view: View, everything: bool = False) -> None:
        """Write what is due, or `everything` queued (raises EtcdError; what was not written stays queued)."""
        now = float("inf") if everything else self._clock()
        while self._finals and self._finals[0].due <= now:
            entry = self._finals[0]
            if entry.height not in view.final:
                self.rounds.finalise(entry.height, entry.round, entry.block_hash)
            del self._finals[0]
        while self._deletes:
            self.client.txn([], self._deletes[:BATCH])
            del self._deletes[:BATCH]
