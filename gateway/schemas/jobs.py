"""Job bodies."""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address
from pydantic import BaseModel, Field, model_validator

from gateway.schemas.fields import Address, Hash32, JobKind, Uint64, Uint256, show
from ledger.bindings import Job


class JobCreate(BaseModel):
    """Open a job: the gateway approves `budget` to Settlement and opens it as the operator.

    Give the parameter document (`params`: checked against `kind`, kept in the gateway's
    workspace under its keccak256, where the parties fetch it) or the hash of one kept elsewhere.
    """

    kind: JobKind
    source_ids: list[Uint256] = Field(min_length=1, max_length=64)
    params_hash: Hash32 | None = Field(None, description="keccak256 of the parameter document (if `params` is given)")
    params: dict[str, Any] | None = Field(None, description="The parameter document, its `protocol` of `kind`")
    compute_parties: list[Address] = Field(min_length=1, max_length=16)
    budget: Uint256
    deadline: Uint64 = Field(description="Unix seconds after which an uncommitted job may be cancelled")

    @model_validator(mode="after")
    def _document_or_hash(self) -> JobCreate:
        if self.params is None and self.params_hash is None:
            raise ValueError("give the parameter document (params) or its hash (params_hash)")
        return self


class JobOpenedPublic(BaseModel):
    """A job just opened."""

    job_id: int
    inputs_hash: str
    auto_consented: list[int] = Field(description="Sources that consented by their policy")
    tx_hash: str


class ConsentCreate(BaseModel):
    """Consent to a job's use of one of the operator's sources."""

    source_id: Uint256


class TransactionPublic(BaseModel):
    """A mined transaction."""

    tx_hash: str
    block_number: int


class JobPublic(BaseModel):
    """A job as the ledger holds it now."""

    job_id: int
    requester: str
    kind: int
    status: str
    deadline: int
    committed_at: int
    consents: int
    attestations: int
    budget: int
    params_hash: str
    inputs_hash: str
    result_hash: str
    transcript_root: str

    @classmethod
    def of(cls, job: Job) -> JobPublic:
        """From the ledger binding's `Job`."""
        return cls(
            job_id=job.job_id,
            requester=to_checksum_address(job.requester),
            kind=job.kind,
            status=job.status.name.capitalize(),
            deadline=job.deadline,
            committed_at=job.committed_at,
            consents=job.consents,
            attestations=job.attestations,
            budget=job.budget,
            params_hash=show(job.params_hash),
            inputs_hash=show(job.inputs_hash),
            result_hash=show(job.result_hash),
            transcript_root=show(job.transcript_root),
        )


class ResultBundlePublic(BaseModel):
    """A finished run's result bundle, as this gateway's job runner saved it."""

    job_id: int
    result: Any = Field(description="The protocol's shared output")
    result_hash: str
    transcript_root: str
    transcript_entries: int
    metadata: dict[str, Any]
