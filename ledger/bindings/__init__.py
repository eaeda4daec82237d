"""Typed bindings of the consortium contracts: methods with type hints, dataclass results.

The six deployed contracts, and the PrivacyBudget the JobLedger creates in its constructor.

Each binding wraps one account's `TransactionSender`; reverts raise the exception named
after the contract's custom error (`ledger.client.revert`).
"""

from ledger.bindings.audit_anchor import AnchoredRoot, AuditAnchor, Batch
from ledger.bindings.consortium import Consortium, Member, Proposal, Proposed
from ledger.bindings.contracts import Contracts
from ledger.bindings.jobs import Job, JobLedger, JobStatus, JobTerms, OpenedJob, Settled
from ledger.bindings.privacy import PrivacyBudget, Reservation, ReservationStage, SourceBudget, budget_refusal
from ledger.bindings.registry import Commitment, DataRegistry, NewVersion, Registered, Source, SourceSpec
from ledger.bindings.settlement import Settlement, Split, Withdrawal
from ledger.bindings.token import CustosToken

__all__ = [
    "AnchoredRoot",
    "AuditAnchor",
    "Batch",
    "Commitment",
    "Consortium",
    "Contracts",
    "CustosToken",
    "DataRegistry",
    "Job",
    "JobLedger",
    "JobStatus",
    "JobTerms",
    "Member",
    "NewVersion",
    "OpenedJob",
    "PrivacyBudget",
    "Proposal",
    "Proposed",
    "Registered",
    "Reservation",
    "ReservationStage",
    "Settled",
    "Settlement",
    "Source",
    "SourceBudget",
    "SourceSpec",
    "Split",
    "Withdrawal",
    "budget_refusal",
]
