"""Opening an audit: the deployment, one or more nodes (or the chain directory in-process), checkpoints.

Shared by every `custos audit` command so that each opens the chain the same way: the
in-process fallback opens the store *verified* (every seal and link back to genesis), as
the node does, and several `--rpc` nodes are all asked and must agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from ledger.audit.auditor import Auditor
from ledger.audit.trustroot import CheckpointFile
from ledger.client import connect
from ledger.deployment import Deployment
from ledger.errors import ConnectionFailed

CHECKPOINTS = "audit-checkpoints.json"
INDEX = "audit-index.db"


@dataclass(frozen=True)
class AuditPaths:
    """Where the deployment, the index and the checkpoints of an audit live."""

    deployment: Path
    index: Path
    checkpoints: Path

    @classmethod
    def resolve(
        cls, chain: Path | None, deployment: Path | None, index: Path | None, checkpoints: Path | None
    ) -> AuditPaths:
        """Defaults: deployment.json in `chain` (or here); index and checkpoints beside it."""
        deployment = deployment or (chain / "deployment.json" if chain else Path("deployment.json"))
        return cls(
            deployment,
            index or deployment.parent / INDEX,
            checkpoints or deployment.parent / CHECKPOINTS,
        )


def open_nodes(
    rpcs: Sequence[str], chain: Path | None, info: Deployment
) -> tuple[list[Web3], list[Callable[[], None]]]:
    """A checked connection per URL (and how to close what was opened); the chain directory in-process
    (verified) when none answers."""
    nodes, unreachable = [], []
    for url in rpcs:
        try:
            nodes.append(connect(url, chain_id=info.chain_id, timeout=5))
        except ConnectionFailed as exc:
            unreachable.append(exc)
    if unreachable and (nodes or chain is None):
        raise unreachable[0]  # a named node that does not answer is an error, never silently skipped
    if not nodes:
        from ledger.chain.node import Node
        from ledger.chain.provider import NodeProvider

        node = Node.open(chain, verify=True)  # type: ignore[arg-type]  # callers give a chain directory whenever they give no RPC URL
        nodes.append(connect(NodeProvider(node), chain_id=info.chain_id))
        return nodes, [node.close]
    return nodes, []


def open_auditor(rpcs: Sequence[str], chain: Path | None, paths: AuditPaths) -> Auditor:
    """The deployment's auditor over the nodes, with the saved checkpoints."""
    info = Deployment.load(paths.deployment)
    nodes, closers = open_nodes(rpcs, chain, info)
    try:
        saved = []
        if info.genesis:
            genesis = bytes.fromhex(str(info.genesis["hash"])[2:])
            saved = CheckpointFile(paths.checkpoints).load(info.chain_id, genesis)
        return Auditor.open(nodes, info, paths.index, saved, closers)
    except BaseException:
        for close in closers:
            close()
        raise
