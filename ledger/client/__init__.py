"""The ledger client: a checked connection, a transaction sender, decoded reverts (deployments: ledger.deployment)."""

from ledger.client.client import Client, unlock
from ledger.client.connection import connect
from ledger.client.revert import decode_revert, revert_error
from ledger.client.sender import Log, Receipt, TransactionSender

__all__ = [
    "Client",
    "Log",
    "Receipt",
    "TransactionSender",
    "connect",
    "decode_revert",
    "revert_error",
    "unlock",
]
