"""One member's handle on a deployed consortium: its transaction sender and the contract bindings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.bindings import (
    AuditAnchor,
    Consortium,
    Contracts,
    CustosToken,
    DataRegistry,
    JobLedger,
    PrivacyBudget,
    Settlement,
)
from ledger.client import TransactionSender, connect
from ledger.client.connection import rpc
from ledger.deployment import Deployment


@dataclass(frozen=True)
class MemberLedger:
    """Everything a member calls on chain, signed with its own key."""

    deployment: Deployment
    sender: TransactionSender
    consortium: Consortium
    token: CustosToken
    registry: DataRegistry
    jobs: JobLedger
    settlement: Settlement
    anchor: AuditAnchor
    privacy: PrivacyBudget

    @property
    def address(self) -> str:
        """The member's checksummed address."""
        return self.sender.address

    @classmethod
    def open(
        cls,
        rpc: str,
        deployment: Path | Deployment,
        account: LocalAccount | bytes,
        *,
        receipt_timeout: float = 60.0,
    ) -> MemberLedger:
        """Connect to `rpc` (a JSON-RPC URL) for the consortium in `deployment` as `account`."""
        info = deployment if isinstance(deployment, Deployment) else Deployment.load(deployment)
        account = account if isinstance(account, LocalAccount) else Account.from_key(account)
        w3 = connect(rpc, chain_id=info.chain_id)
        return cls.bind(TransactionSender(w3, account, receipt_timeout=receipt_timeout), info)

    @classmethod
    def bind(cls, sender: TransactionSender, deployment: Deployment) -> MemberLedger:
        """Every binding of `deployment` over an existing sender (any connection, e.g. an in-process node)."""
        c = Contracts.at(sender, deployment)
        return cls(deployment, sender, c.consortium, c.token, c.registry, c.jobs, c.settlement, c.anchor, c.privacy)

    def latest_timestamp(self) -> int:
        """The head block's timestamp (what the contracts compare deadlines against)."""
        return int(rpc(lambda: self.sender.w3.eth.get_block("latest"), what="read the head block")["timestamp"])

    def head_block(self) -> int:
        """The head block's number."""
        return int(rpc(lambda: self.sender.w3.eth.block_number, what="read the head block number"))
