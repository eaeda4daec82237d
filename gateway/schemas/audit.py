"""Audit bodies: jobs, their verified timelines, data sources and payouts."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ledger.protocol import JobKind


class JobSummary(BaseModel):
    """A job as the audit list shows it."""

    job_id: int
    kind: str = Field(
        description=f"The job kind's name ({', '.join(k.name for k in JobKind)}), or its number if unknown"
    )
    status: str = Field(description="Open, Ready, Committed, Finalized, Disputed, Cancelled, Aborted or Refunded")
    requester: str
    participants: list[str]
    opened_block: int
    opened_at: int = Field(description="Unix time of the block that opened the job")


class TimelineStep(BaseModel):
    """One on-chain step of a trail, with the result of verifying it."""

    index: int = Field(description="Position in the trail, from 0")
    event: str = Field(description="The contract event, e.g. JobOpened, ConsentGiven, ResultCommitted")
    contract: str
    actor: str = Field(description="Who caused it (the transaction's sender)")
    block_number: int
    block_time: int
    tx_hash: str
    verified: bool
    checks: list[str] = Field(description="What was verified, or why verification failed")


class StepProof(BaseModel):
    """The evidence behind one step's mark: receipt, block and signature or Merkle proofs."""

    index: int
    verified: bool
    proof: dict[str, Any]


class JobTrail(BaseModel):
    """A job's summary and its full timeline."""

    job: JobSummary
    steps: list[TimelineStep]
    verified: bool = Field(description="Whether every step verified")


class SourceVersion(BaseModel):
    """One commitment version of a data source."""

    version: int
    commitment: str
    row_count: int
    block_number: int
    block_time: int


class SourceSummary(BaseModel):
    """A data source, its commitment history and the jobs that used it."""

    source_id: int
    owner: str
    active: bool
    price_per_use: int
    versions: list[SourceVersion]
    used_by: list[int] = Field(description="Ids of the jobs that used this source")


class PayoutSummary(BaseModel):
    """What one member was credited and withdrew, in token base units."""

    member: str
    name: str
    credited: int
    withdrawn: int

    @property
    def balance(self) -> int:
        """Credited and not yet withdrawn."""
        return self.credited - self.withdrawn
