"""The consensus protocol's clocks, how much history etcd keeps, and the proposer's batching rule."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ledger.chain.chainspec import GAS_TARGET


@dataclass(frozen=True)
class Timing:
    """The protocol's clocks (seconds) and how much history etcd keeps."""

    round_timeout: float = 4.0
    lease_ttl: int = 2
    # After its own round was abandoned, an honest leader waits this long before campaigning again.
    stand_down: float = 3.0
    poll: float = 0.2
    # The proposer gathers transactions until none arrived for `gather_quiet` and the pool holds as
    # many as were in flight when the last block became final, at most `gather_max` (see `Gather`):
    # each block costs every node a re-execution, a seal round trip through etcd and a commit
    # whatever its size.
    gather_quiet: float = 0.01
    gather_max: float = 0.15
    # A final block's record is written by its proposer when idle; another node writes it only if it
    # is still missing this long after that node committed the block (the proposer may have crashed).
    final_grace: float = 0.5
    # etcd keeps the proposals, seals and round records of this many heights below the head
    # (every node prunes after finality; older blocks come from peers, checked).
    keep_heights: int = 256


class Gather:
    """When the proposer stops waiting for more transactions and builds its block.

    It waits while transactions keep arriving (less than `gather_quiet` apart), and while the
    pool holds fewer than were in flight when the last block became final (that block's
    transactions and those already waiting): clients that await each receipt answer a final
    block with their next transaction within an etcd round trip or two, so a block cut as soon
    as the first of them arrives leaves the rest a whole block behind, and the chain settles
    into small blocks each paying the fixed costs alone. It never waits for more than a block
    can take (declared gas at the gas target), nor longer than `gather_max` after the first
    transaction; a lone transaction after a lone one waits `gather_quiet` at most.
    """

    def __init__(self, timing: Timing, clock: Callable[[], float] = time.monotonic) -> None:
        self.timing = timing
        self._clock = clock
        self.expected = 1
        self.size = 0
        self._start = 0.0
        self._changed = 0.0

    def gathering(self, size: int, gas: int) -> bool:
        """True while the proposer should wait on, given the pool's `size` and declared `gas`."""
        now = self._clock()
        if size != self.size:
            if self.size == 0:
                self._start = now
            self.size, self._changed = size, now
        if now - self._start >= self.timing.gather_max:
            return False
        if now - self._changed < self.timing.gather_quiet:
            return True
        return size < self.expected and gas < GAS_TARGET

    def built(self) -> None:
        """The block was built: the next one gathers afresh."""
        self.size = 0

    def final(self, transactions: int, waiting: int) -> None:
        """A block of `transactions` became final with `waiting` others in the pool: expect them all next."""
        self.expected = max(1, transactions + waiting)
