"""The transaction pool: admitted transactions waiting for a block, in arrival order."""

from __future__ import annotations

from dataclasses import dataclass

from eth.abc import SignedTransactionAPI

MAX_POOL = 20_000
# How far ahead of an account's nonce a transaction may be queued.
MAX_NONCE_GAP = 64


@dataclass(frozen=True)
class Pending:
    """An admitted transaction and its raw bytes (kept for eth_getTransactionByHash)."""

    tx: SignedTransactionAPI
    sender: bytes
    seq: int


class TxPool:
    """Pending transactions by hash and by (sender, nonce); block order keeps nonces ascending."""

    def __init__(self) -> None:
        self._by_hash: dict[bytes, Pending] = {}
        self._by_sender: dict[bytes, dict[int, bytes]] = {}
        self._seq = 0

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
