"""What the gateway asks of the audit trail: the interface its audit routes and explorer read.

`ledger/audit` implements the queries and the verification; `LedgerAuditReader` (wired in
`gateway.chain`) adapts its results to the gateway's public schemas. Every method answers
from the local event index and re-verifies what it returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gateway.schemas.audit import JobSummary, JobTrail, PayoutSummary, SourceSummary, StepProof, TimelineStep
from ledger.audit.budget import BudgetHistory
from ledger.audit.trails import TrailFilter


class AuditReader(Protocol):
    """Read-only, verified views of the consortium's on-chain trail."""

    def job_page(
        self, where: TrailFilter, offset: int, limit: int, kind: int | None = None
    ) -> tuple[int, list[JobSummary]]:
        """How many jobs match `where` (status, opened in [since, until)) and `kind`, and one page of
        them, newest first."""
        ...

    def verify_jobs(self, summaries: Sequence[JobSummary]) -> list[JobSummary]:
        """The same summaries with `verified` set (verifying each job, or from its cache)."""
        ...

    def job_trail(self, job_id: int) -> JobTrail | None:
        """A job's verified timeline, or None if no such job."""
        ...

    def job_trail_json(self, job_id: int) -> bytes | None:
        """`job_trail` as its JSON body (cached with the verification), or None."""
        ...

    def job_bundle(self, job_id: int) -> bytes | None:
        """The job's evidence bundle as JSON, or None if no such job (raises when none can be written)."""
        ...

    def step_proof(self, job_id: int, index: int) -> StepProof | None:
        """The evidence for one step of a job's timeline, or None if no such step."""
        ...

    def job_of_tx(self, tx_hash: bytes) -> tuple[int | None, int | None]:
        """The (job id, source id) a transaction's indexed event names; (None, None) if unknown."""
        ...

    def source_page(self, offset: int, limit: int) -> tuple[int, list[SourceSummary]]:
        """How many data sources there are, and one page of them (id order) with history and use."""
        ...

    def sources_of(self, owner: str) -> list[SourceSummary]:
        """The data sources `owner` registered."""
        ...

    def source(self, source_id: int) -> SourceSummary | None:
        """One data source, or None."""
        ...

    def source_trail(self, source_id: int) -> list[TimelineStep] | None:
        """A data source's verified timeline, or None if no such source."""
        ...

    def source_budget(self, source_id: int) -> BudgetHistory:
        """A data source's privacy budget over time, replayed from its PrivacyBudget events."""
        ...

    def member_trail(self, address: str) -> list[TimelineStep]:
        """Every verified step a member took or was named in."""
        ...

    def payout_of(self, address: str) -> PayoutSummary:
        """What one member was credited and withdrew."""
        ...

    def payouts(self) -> list[PayoutSummary]:
        """Credits and withdrawals per member."""
        ...
