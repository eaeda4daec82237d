"""The transaction pool: admitted transactions waiting for a block, in arrival order.

Besides the pending transactions it remembers, in a bounded log, the transactions the
producer dropped and why (`custos_txStatus`, `txpool_*`): a dropped transaction never gets
a receipt, and its sender deserves a reason.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from eth.abc import SignedTransactionAPI

from ledger.chain.building import Dropped

MAX_POOL = 20_000
# How far ahead of an account's nonce a transaction may be queued.
MAX_NONCE_GAP = 64
# How many dropped transactions keep their reason.
MAX_DROPPED = 10_000


@dataclass(frozen=True)
class Pending:
    """An admitted transaction and its raw bytes (kept for eth_getTransactionByHash)."""

    tx: SignedTransactionAPI
    sender: bytes
    seq: int

    @property
    def cost(self) -> int:
        """The most this transaction can take from its sender's balance: gas × fee cap + value."""
        return self.tx.gas * fee_cap(self.tx) + self.tx.value


class TxPool:
    """Pending transactions by hash and by (sender, nonce); block order keeps nonces ascending."""

    def __init__(self) -> None:
        self._by_hash: dict[bytes, Pending] = {}
        self._by_sender: dict[bytes, dict[int, bytes]] = {}
        self._seq = 0
        self._dropped: OrderedDict[bytes, Dropped] = OrderedDict()

    def __len__(self) -> int:
        return len(self._by_hash)

    def get(self, tx_hash: bytes) -> Pending | None:
        """The pending entry for `tx_hash`, if any."""
        return self._by_hash.get(tx_hash)

    def has_nonce(self, sender: bytes, nonce: int) -> bool:
        """Whether `sender` already has a pending transaction with `nonce`."""
        return nonce in self._by_sender.get(sender, {})

    def add(self, tx: SignedTransactionAPI, sender: bytes) -> None:
        """Admit `tx` (the caller has validated it)."""
        self._seq += 1
        self._by_hash[tx.hash] = Pending(tx, sender, self._seq)
        self._by_sender.setdefault(sender, {})[tx.nonce] = tx.hash

    def remove(self, tx_hash: bytes) -> None:
        """Forget `tx_hash` (included in a block, or dropped)."""
        entry = self._by_hash.pop(tx_hash, None)
        if entry is None:
            return
        nonces = self._by_sender[entry.sender]
        nonces.pop(entry.tx.nonce, None)
        if not nonces:
            del self._by_sender[entry.sender]

    def drop(self, dropped: Dropped) -> None:
        """Remove a transaction the producer could not include, remembering why."""
        self.remove(dropped.tx_hash)
        self._dropped[dropped.tx_hash] = dropped
        while len(self._dropped) > MAX_DROPPED:
            self._dropped.popitem(last=False)

    def dropped(self, tx_hash: bytes) -> Dropped | None:
        """Why `tx_hash` was dropped, if it was (and is still remembered)."""
        return self._dropped.get(tx_hash)

    def pending_cost(self, sender: bytes) -> int:
        """What `sender`'s pending transactions can take from its balance together."""
        return sum(self._by_hash[h].cost for h in list(self._by_sender.get(sender, {}).values()))

    def entries(self) -> list[Pending]:
        """Every pending entry, in arrival order (a copy: safe to read while the pool changes)."""
        return list(self._by_hash.values())

    def next_nonce(self, sender: bytes, state_nonce: int) -> int:
        """The nonce after `sender`'s consecutive pending run starting at `state_nonce`."""
        nonces = self._by_sender.get(sender, {})
        nonce = state_nonce
        while nonce in nonces:
            nonce += 1
        return nonce

    def hashes(self) -> list[bytes]:
        """Pending transaction hashes in arrival order."""
        return list(self._by_hash)

    def ordered(self) -> list[Pending]:
        """Arrival order, except that each sender's transactions are in ascending nonce order."""
        entries = sorted(self._by_hash.values(), key=lambda e: e.seq)
        per_sender: dict[bytes, list[Pending]] = {}
        for entry in entries:
            per_sender.setdefault(entry.sender, []).append(entry)
        queues = {s: iter(sorted(es, key=lambda e: e.tx.nonce)) for s, es in per_sender.items()}
        return [next(queues[entry.sender]) for entry in entries]


def fee_cap(tx: SignedTransactionAPI) -> int:
    """The most a transaction pays per gas: maxFeePerGas for typed-1559, gasPrice otherwise."""
    if getattr(tx, "type_id", None) in (2, 3):
        return tx.max_fee_per_gas
    return tx.gas_price
