"""One object for an auditor: the deployment's contracts indexed, queried and verified together."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from ledger.artifacts import load
from ledger.audit.queries import AuditQueries
from ledger.audit.verify import Verifier
from ledger.index import EventIndexer, EventStore, SyncResult
from ledger.protocol import Deployment


@dataclass(frozen=True)
class Auditor:
    """Index + queries + verifier over one deployment."""

    indexer: EventIndexer
    queries: AuditQueries
    verifier: Verifier

    @classmethod
    def open(cls, w3: Web3, deployment: Deployment, index_path: str | Path) -> Auditor:
        """Index the deployment's contracts into `index_path` (created if new)."""
        watched = {name: (address, load(name).abi) for name, address in deployment.addresses.items()}
        store = EventStore(index_path)
        indexer = EventIndexer(w3, store, watched, start_block=deployment.start_block)
        queries = AuditQueries(store)
        return cls(indexer, queries, Verifier(w3, queries, {n: abi for n, (_, abi) in watched.items()}))

    def sync(self) -> SyncResult:
        """Bring the index up to the chain's head."""
        return self.indexer.sync()
