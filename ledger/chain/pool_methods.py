"""JSON-RPC methods about waiting transactions: geth's txpool_* and custos_txStatus.

`custos_txStatus` is how a sender learns what became of a transaction that never got a
receipt: it is pending (next in line), queued (waiting for an earlier nonce), mined, or
dropped by the producer, with the reason (for instance "insufficient funds").
"""

from __future__ import annotations

from typing import Any

from ledger.chain.encoding import addr, q, tx_json
from ledger.chain.params import arity, hash32
from ledger.chain.pool import Pending


class PoolMethods:
    """txpool_status, txpool_content and custos_txStatus (mixed into `Methods`)."""

    node: Any

    def _split(self) -> tuple[list[Pending], list[Pending]]:
        """The pool's entries as (pending, queued): queued ones wait behind a missing nonce."""
        entries = self.node.pool.entries()
        state = self.node.chain.get_vm(self.node.head).state if entries else None
        by_sender: dict[bytes, list[Pending]] = {}
        for entry in entries:
            by_sender.setdefault(entry.sender, []).append(entry)
        pending: list[Pending] = []
        queued: list[Pending] = []
        for sender, mine in by_sender.items():
            assert state is not None
            expected = state.get_nonce(sender)
            for entry in sorted(mine, key=lambda e: e.tx.nonce):
                if entry.tx.nonce == expected:
                    pending.append(entry)
                    expected += 1
                else:
                    queued.append(entry)
        return pending, queued

    def rpc_txpool_status(self, params: list[Any]) -> dict[str, str]:
        arity(params, 0)
        pending, queued = self._split()
        return {"pending": q(len(pending)), "queued": q(len(queued))}

    def rpc_txpool_content(self, params: list[Any]) -> dict[str, Any]:
        arity(params, 0)
        pending, queued = self._split()
        return {"pending": _by_sender(pending), "queued": _by_sender(queued)}

    def rpc_custos_txStatus(self, params: list[Any]) -> dict[str, Any]:
        """What became of a transaction: mined, pending, queued, dropped (with reason) or unknown."""
        (raw,) = arity(params, 1)
        tx_hash = hash32(raw, "transactionHash")
        try:
            number, _ = self.node.chain.chaindb.get_transaction_index(tx_hash)
            return {"status": "mined", "blockNumber": q(number)}
        except Exception:  # noqa: BLE001 — TransactionNotFound
            pass
        if self.node.pool.get(tx_hash) is not None:
            pending, _ = self._split()
            return {"status": "pending" if any(e.tx.hash == tx_hash for e in pending) else "queued"}
        dropped = self.node.pool.dropped(tx_hash)
        if dropped is not None:
            return {"status": "dropped", "reason": dropped.reason}
        return {"status": "unknown"}


def _by_sender(entries: list[Pending]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for entry in entries:
        out.setdefault(addr(entry.sender), {})[str(entry.tx.nonce)] = tx_json(entry.tx, None, None)
    return out
