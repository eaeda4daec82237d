"""All seven bindings for one account, from a deployment."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.bindings.audit_anchor import AuditAnchor
from ledger.bindings.consortium import Consortium
from ledger.bindings.jobs import JobLedger
from ledger.bindings.privacy import PrivacyBudget
from ledger.bindings.registry import DataRegistry
from ledger.bindings.settlement import Settlement
from ledger.bindings.token import CustosToken
from ledger.client.sender import TransactionSender
from ledger.deployment import Deployment


@dataclass(frozen=True)
class Contracts:
    """The consortium's contracts as one account sees them."""

    consortium: Consortium
    token: CustosToken
    registry: DataRegistry
    jobs: JobLedger
    settlement: Settlement
    anchor: AuditAnchor
    privacy: PrivacyBudget

    @classmethod
    def at(cls, sender: TransactionSender, deployment: Deployment) -> Contracts:
        """Bind every contract of `deployment` to `sender`."""
        return cls(
            Consortium.at(sender, deployment),
            CustosToken.at(sender, deployment),
            DataRegistry.at(sender, deployment),
            JobLedger.at(sender, deployment),
            Settlement.at(sender, deployment),
            AuditAnchor.at(sender, deployment),
            PrivacyBudget.at(sender, deployment),
        )
