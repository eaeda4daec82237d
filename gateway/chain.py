"""Opening a gateway on a chain: the deployment, the node, the Consortium, the audit index.

The one place where the gateway is wired to `ledger`: it connects (JSON-RPC URL, or the
embedded chain in-process), binds the Consortium for membership with the operator's key,
opens the audit index in the gateway's state folder, and builds the app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from compute.errors import ComputeError
from compute.jobs.workspace import Workspace
from gateway.app import build_services, create_app
from gateway.clock import Clock, SystemClock
from gateway.hosted_runner import host_runner
from gateway.ledger_errors import install_ledger_error_handlers
from gateway.ledger_views import LedgerAuditReader
from gateway.membership import ConsortiumMembership
from gateway.services import LedgerHandles
from gateway.settings import RateLimits, Settings
from ledger.audit.auditor import Auditor
from ledger.bindings import AuditAnchor, Consortium, CustosToken, DataRegistry, JobLedger, PrivacyBudget, Settlement
from ledger.client import TransactionSender, connect
from ledger.deployment import Deployment
from ledger.errors import LedgerError
from ledger.keystore import Keystore, KeystoreError
from ledger.member import MemberLedger
from ledger.signing import local_account


class ChainGatewayError(Exception):
    """The gateway cannot be opened: no deployment, no node, a node on another chain, or a foreign workspace."""


@dataclass(frozen=True)
class RunnerHosting:
    """How the gateway hosts its organisation's job runner: the URL peers reach the gateway at
    (published on chain as the party endpoint) and how long a party waits for a silent peer."""

    public_url: str
    protocol_timeout: float = 120.0


def _runner_workspace(folder: Path, operator: str) -> Workspace:
    """The runner workspace in `folder`, which must be the gateway's own member's."""
    try:
        workspace = Workspace.load(folder)
        owner = Keystore(workspace.keystore).address(workspace.name)
    except (OSError, ValueError, KeyError, KeystoreError, ComputeError) as exc:
        raise ChainGatewayError(f"cannot load the runner workspace {folder}: {exc}") from None
    if owner.lower() != operator.lower():
        raise ChainGatewayError(
            f"the workspace {folder} is {workspace.name}'s ({owner}); this gateway's key is {operator}"
        )
    return workspace


def _connect(rpc: str | None, chain: Path | None, chain_id: int) -> tuple[Any, Callable[[], None]]:  # (Web3, close)
    if rpc is not None:
        return connect(rpc, chain_id=chain_id, timeout=10), lambda: None
    assert chain is not None  # open_gateway passes exactly one of rpc and chain
    from ledger.chain.node import Node
    from ledger.chain.provider import NodeProvider
    from ledger.chain.setup import validator_key
    from ledger.keystore import DEV_PASSWORD, KeystoreError, password_from_env

    try:  # the chain's validator key, when this machine holds it, lets the in-process node seal blocks
        validator = validator_key(chain, password_from_env(DEV_PASSWORD))
    except (KeystoreError, LedgerError, OSError, StopIteration, ValueError):
        validator = None
    node = Node.open(chain, validator, verify=False)
    if validator is not None:
        node.start()

    def close() -> None:
        if validator is not None:
            node.stop()
        node.close()

    return connect(NodeProvider(node), chain_id=chain_id), close


def open_gateway(
    key: bytes,
    *,
    rpc: str | None = None,
    chain: Path | None = None,
    deployment: Path | None = None,
    state: Path | None = None,
    clock: Clock | None = None,
    freshness_seconds: int = 60,
    workspace: Path | None = None,
    limits: RateLimits | None = None,
    secure_cookie: bool = False,
    runner: RunnerHosting | None = None,
) -> tuple[FastAPI, Callable[[], None]]:
    """The gateway app for the member holding `key`, and a function that closes what it opened.

    With `runner`, the organisation's job runner of `workspace` runs in the app (see `gateway.hosted_runner`).
    """
    if (rpc is None) == (chain is None):
        raise ChainGatewayError("give exactly one of a JSON-RPC URL or an embedded chain directory")
    if runner is not None and workspace is None:
        raise ChainGatewayError("a hosted job runner needs its workspace")
    deployment = deployment or (chain / "deployment.json" if chain else Path("deployment.json"))
    state = state or deployment.parent / "gateway"
    try:
        info = Deployment.load(deployment)
        state.mkdir(parents=True, exist_ok=True)
        w3, close_node = _connect(rpc, chain, info.chain_id)
        sender = TransactionSender(w3, local_account(key))
        auditor = Auditor.open(w3, info, state / "audit-index.db")
        clock = clock or SystemClock()
        reader = LedgerAuditReader(auditor, clock, node=rpc or f"embedded chain {chain}")
        handles = LedgerHandles(
            operator=sender.address,
            consortium=Consortium.at(sender, info),
            registry=DataRegistry.at(sender, info),
            jobs=JobLedger.at(sender, info),
            settlement=Settlement.at(sender, info),
            token=CustosToken.at(sender, info),
            indexed=reader.indexed_position,
            privacy=PrivacyBudget.at(sender, info),
        )
    except (LedgerError, OSError) as exc:
        raise ChainGatewayError(str(exc)) from None
    settings = Settings(
        chain_id=info.chain_id,
        consortium=info.address("Consortium"),
        operator=sender.address,
        state_dir=state,
        freshness_seconds=freshness_seconds,
        workspace=workspace,
        limits=limits or RateLimits(),
        secure_cookie=secure_cookie,
    )
    services = build_services(
        settings, ConsortiumMembership(handles.consortium), clock, known_members=reader.known_members
    )
    services.audit = reader
    services.ledger = handles
    app = create_app(services)
    install_ledger_error_handlers(app)
    if runner is not None and workspace is not None:
        member = MemberLedger(
            info,
            sender,
            handles.consortium,
            handles.token,
            handles.registry,
            handles.jobs,
            handles.settlement,
            AuditAnchor.at(sender, info),
            PrivacyBudget.at(sender, info),
        )
        try:
            host_runner(
                app, _runner_workspace(workspace, sender.address), member, runner.public_url, runner.protocol_timeout
            )
        except ChainGatewayError:
            close_node()
            raise

    def close() -> None:
        if services.runner is not None:
            services.runner.stop()
        services.nonces.close()
        auditor.queries.store.close()
        close_node()

    return app, close
