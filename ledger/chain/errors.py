"""Errors of the embedded chain, each carrying the JSON-RPC code a client sees.

ChainError
├── HistoryError        stored chain fails verification on load (unsealed, bad seal, broken link)
│   └── StoreCorrupted  the store's bytes are damaged (truncated file, a value that fails its hash)
├── TxRejected          a raw transaction is not admitted to the pool   (-32000)
│   ├── InvalidTx       undecodable, unsigned or wrong chain id       (-32602)
│   └── NotPermitted    sender is not allowed by the membership contract (-32007)
├── LimitExceeded       a request exceeds a server limit (range, results, filters)  (-32005)
└── ExecutionFailed     eth_call / eth_estimateGas failed              (-32000)
    └── ExecutionReverted  the call reverted; `data` is the revert data (3)
"""

from __future__ import annotations


class ChainError(Exception):
    """Base of every embedded-chain error; `code` is its JSON-RPC error code."""

    code = -32000

    def __init__(self, message: str, data: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


class HistoryError(ChainError):
    """The stored chain does not verify (missing or wrong seal, broken parent link, bad genesis)."""


class StoreCorrupted(HistoryError):
    """The store's bytes are damaged: a truncated data file, or a value that does not hash to its key."""


class TxRejected(ChainError):
    """A transaction was not admitted to the pool."""


class InvalidTx(TxRejected):
    """The raw bytes are not a valid signed transaction for this chain."""

    code = -32602


class NotPermitted(TxRejected):
    """The membership contract (or the bootstrap rule) does not allow the sender to transact."""

    # Hyperledger Besu's code for "Sender account not authorized to send transactions".
    code = -32007


class LimitExceeded(ChainError):
    """A request exceeds one of the node's limits; narrower or later it may succeed (geth/Infura's -32005)."""

    code = -32005


class ExecutionFailed(ChainError):
    """A call or gas estimate failed for a reason other than a revert."""


class ExecutionReverted(ExecutionFailed):
    """The call reverted; `data` is the hex revert data clients decode custom errors from."""

    code = 3
