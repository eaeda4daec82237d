"""One object for an auditor: the deployment's contracts indexed, queried and verified together."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from ledger.artifacts import load
from ledger.audit.chainview import ChainView
from ledger.audit.queries import AuditQueries
from ledger.audit.trustroot import Checkpoint, TrustRoot, trust_root
from ledger.audit.verify import Verifier
from ledger.deployment import Deployment
from ledger.errors import AuditError
from ledger.index import EventIndexer, EventStore, SyncResult


@dataclass(frozen=True)
class Auditor:
    """Index + queries + verifier over one deployment, read from one or more nodes."""

    indexer: EventIndexer
    queries: AuditQueries
    verifier: Verifier
    nodes: tuple[Web3, ...]
    deployment: Deployment
    trust: TrustRoot | None
    closers: tuple[Callable[[], None], ...] = ()

    @classmethod
    def open(
        cls,
        nodes: Web3 | Sequence[Web3],
        deployment: Deployment,
        index_path: str | Path,
        checkpoints: Sequence[Checkpoint] = (),
        closers: Sequence[Callable[[], None]] = (),
    ) -> Auditor:
        """Index the deployment's contracts into `index_path` (created if new) from the first node."""
        nodes = (nodes,) if isinstance(nodes, Web3) else tuple(nodes)
        watched = {name: (address, load(name).abi) for name, address in deployment.event_sources().items()}
        members = genesis_members(deployment)  # checked before anything is opened
        store = EventStore(index_path)
        indexer = EventIndexer(nodes[0], store, watched, start_block=deployment.start_block)
        queries = AuditQueries(store, members)
        root = trust_root(deployment.chain_id, deployment.genesis)
        abis = {n: abi for n, (_, abi) in watched.items()}

        consortium = watched.get("Consortium")
        governance = (consortium[0], abis["Consortium"]) if consortium else None

        def view() -> ChainView:
            return ChainView(nodes, deployment.chain_id, root, governance)

        verifier = Verifier(
            view,
            queries,
            abis,
            {n: a for n, (a, _) in watched.items()},
            start_block=deployment.start_block,
            checkpoints=checkpoints,
        )
        return cls(indexer, queries, verifier, nodes, deployment, root, (store.close, *closers))

    def close(self) -> None:
        """Close the index and any chain opened in-process for this audit."""
        for close in self.closers:
            close()

    def sync(self, *, accept_reorg: bool = False) -> SyncResult:
        """Bring the index up to the chain's head; a changed history raises `HistoryChanged` unless accepted."""
        return self.indexer.sync(accept_reorg=accept_reorg)


def genesis_members(deployment: Deployment) -> dict[str, str]:
    """Address → name of the members a consortium bundle's genesis admits (`genesis.members`), if any."""
    members = (deployment.genesis or {}).get("members") or {}
    if not isinstance(members, dict) or not all(isinstance(v, str) for v in members.values()):
        raise AuditError("malformed deployment.json: genesis.members must map each address to a name")
    return {str(address): name for address, name in members.items()}
