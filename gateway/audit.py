"""What the gateway asks of the audit trail: the interface its audit routes and explorer read.

`ledger/audit` implements the queries and the verification; `LedgerAuditReader` (wired in
`gateway.chain`) adapts its results to the gateway's public schemas. Every method answers
from the local event index and re-verifies what it returns.
"""

from __future__ import annotations

from typing import Protocol

from gateway.schemas.audit import JobSummary, JobTrail, PayoutSummary, SourceSummary, StepProof, TimelineStep


class AuditReader(Protocol):
    """Read-only, verified views of the consortium's on-chain trail."""

    def jobs(self) -> list[JobSummary]:
        """Every job, newest first."""
        ...

    def job_trail(self, job_id: int) -> JobTrail | None:
        """A job's verified timeline, or None if no such job."""
        ...

    def step_proof(self, job_id: int, index: int) -> StepProof | None:
        """The evidence for one step of a job's timeline, or None if no such step."""
        ...

    def sources(self) -> list[SourceSummary]:
        """Every data source with its commitment history and the jobs that used it."""
        ...

    def source_trail(self, source_id: int) -> list[TimelineStep] | None:
        """A data source's verified timeline, or None if no such source."""
        ...

    def member_trail(self, address: str) -> list[TimelineStep]:
        """Every verified step a member took or was named in."""
        ...

    def payouts(self) -> list[PayoutSummary]:
        """Credits and withdrawals per member."""
        ...
