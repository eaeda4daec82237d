"""`Client`: one checked connection to a consortium's chain, with one sender per account.

One `TransactionSender` per account is what keeps nonces consecutive, so the client hands
out the same sender for the same address every time (thread-safe).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.providers.base import BaseProvider

from ledger.client.connection import connect
from ledger.client.sender import TransactionSender
from ledger.deployment import Deployment
from ledger.errors import KeystoreError

if TYPE_CHECKING:
    from ledger.bindings.contracts import Contracts


@dataclass
class Client:
    """A connection (embedded provider or JSON-RPC URL) plus the deployment it serves."""

    w3: Web3
    deployment: Deployment
    _senders: dict[str, TransactionSender] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def open(cls, target: str | BaseProvider | Web3, deployment: str | Path | Deployment) -> Client:
        """Connect to `target` and check that it is the chain `deployment` (a deployment.json) is on."""
        info = deployment if isinstance(deployment, Deployment) else Deployment.load(deployment)
        return cls(connect(target, chain_id=info.chain_id), info)

    def sender(self, account: LocalAccount) -> TransactionSender:
        """The one sender of `account` on this connection."""
        with self._lock:
            if account.address not in self._senders:
                self._senders[account.address] = TransactionSender(self.w3, account)
            return self._senders[account.address]

    def contracts(self, account: LocalAccount) -> Contracts:
        """Typed bindings of the six contracts, sending as `account`."""
        from ledger.bindings.contracts import Contracts

        return Contracts.at(self.sender(account), self.deployment)


def unlock(keystore_dir: str | Path, name: str, password: str) -> LocalAccount:
    """An account from the encrypted keystore (`ledger.keystore`), errors translated to ours."""
    from ledger import keystore

    try:
        return keystore.Keystore(keystore_dir).unlock(name, password)
    except keystore.KeystoreError as exc:
        raise KeystoreError(str(exc)) from exc
