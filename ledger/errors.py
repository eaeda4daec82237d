"""The ledger client's one exception tree.

Lower-layer errors (requests/web3/JSON-RPC/sqlite) are translated into these at the
boundary, so callers catch `LedgerError` and never a library's exception::

    LedgerError
    ├── ConnectionFailed          the node cannot be reached, or is not the chain expected
    ├── DeploymentError           deployment.json is missing, malformed, or names no such contract
    ├── ProtocolValueError        a job kind, amount, attestation field or signature the protocol refuses
    ├── KeystoreError             an account cannot be loaded from the keystore
    ├── TransactionError          a transaction could not be carried through
    │   ├── TransactionRejected   the node refused it (underpriced, not permitted, bad nonce, ...)
    │   ├── TransactionTimeout    no receipt within the timeout
    │   └── ContractRevert        execution reverted (estimated or mined)
    │       ├── <CustomError>     one subclass per Solidity custom error, named after it
    │       ├── RevertWithReason  `Error(string)` / `require(cond, "reason")`
    │       └── Panic             `Panic(uint256)` (assert, overflow, division by zero)
    ├── IndexerError              the event index cannot be read or advanced
    ├── AnchorError               the Merkle anchoring store or its transaction failed
    └── AuditError                an audit query names an unknown job, source or record

A `ContractRevert` carries `name` (the error's Solidity name), `arguments` (its decoded
arguments by name), `data` (the raw revert bytes) and, once mined, `receipt`. Subclasses
for custom errors are made on demand by `ledger.client.revert`, so
`from ledger.client.revert import BeaconZeroStep` works for any error in any artifact.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class LedgerError(Exception):
    """Base of every error the ledger client raises."""


class ConnectionFailed(LedgerError):
    """The node cannot be reached, or is not the chain that was expected."""


class DeploymentError(LedgerError):
    """deployment.json is missing or malformed, or names no such contract."""


class ProtocolValueError(LedgerError, ValueError):
    """A job kind, token amount, attestation field or signature that docs/protocol.md refuses (also a ValueError)."""


class KeystoreError(LedgerError):
    """An account cannot be loaded from the keystore."""


class TransactionError(LedgerError):
    """A transaction could not be carried through to a successful receipt."""


class TransactionRejected(TransactionError):
    """The node refused the transaction before executing it."""


class TransactionTimeout(TransactionError):
    """The transaction was sent but no receipt arrived within the timeout."""

    def __init__(self, message: str, tx_hash: bytes) -> None:
        super().__init__(message)
        self.tx_hash = tx_hash


class ContractRevert(TransactionError):
    """Execution reverted; `name` and `arguments` say which error and with what values."""

    name: str = "ContractRevert"

    def __init__(self, arguments: Mapping[str, Any] | None = None, data: bytes = b"", receipt: Any = None) -> None:
        self.arguments = dict(arguments or {})
        self.data = data
        self.receipt = receipt
        shown = ", ".join(f"{k}={_show(v)}" for k, v in self.arguments.items())
        super().__init__(
            f"{self.name}({shown})"
            if self.arguments or self.name != "ContractRevert"
            else f"execution reverted (data 0x{data.hex()})"
        )


class RevertWithReason(ContractRevert):
    """A revert with a reason string (`Error(string)`)."""

    name = "Error"


class Panic(ContractRevert):
    """A Solidity panic (`Panic(uint256)`): assertion, overflow, division by zero, ..."""

    name = "Panic"


class IndexerError(LedgerError):
    """The event index cannot be read or advanced."""


class AnchorError(LedgerError):
    """The Merkle anchoring store or its anchoring transaction failed."""


class AuditError(LedgerError):
    """An audit query names an unknown job, source, member or record."""


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return repr(value) if isinstance(value, str) else str(value)
