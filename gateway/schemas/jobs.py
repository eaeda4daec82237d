"""Job bodies."""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address
from pydantic import BaseModel, Field, model_validator

from gateway.schemas.fields import Address, Hash32, JobKind, Uint64, Uint256, show
from ledger.bindings import Job, JobTerms


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


class JobTermsPublic(BaseModel):
    """The terms fixed when the job opened (later governance changes never touch them)."""

    fee_bps: int = Field(description="The compute fee in basis points of the pool")
    challenge_window: int = Field(description="Seconds from the commit during which a participant may dispute")
    attestation_window: int = Field(description="Seconds from the commit for every attester to sign before escalation")
    resolution_window: int = Field(description="Seconds governance has to resolve a dispute before the default applies")
    disputed_at: int = Field(description="When the job was disputed or escalated (0: never)")

    @classmethod
    def of(cls, terms: JobTerms) -> JobTermsPublic:
        """From the ledger binding's `JobTerms`."""
        return cls(
            fee_bps=terms.fee_bps,
            challenge_window=terms.challenge_window,
            attestation_window=terms.attestation_window,
            resolution_window=terms.resolution_window,
            disputed_at=terms.disputed_at,
        )


class JobPublic(BaseModel):
    """A job as the ledger holds it now, with the terms fixed at its opening."""

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
    terms: JobTermsPublic

    @classmethod
    def of(cls, job: Job, terms: JobTerms) -> JobPublic:
        """From the ledger binding's `Job` and `JobTerms`."""
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
            terms=JobTermsPublic.of(terms),
        )


class ResultBundlePublic(BaseModel):
    """A finished run's result bundle, as this gateway's job runner saved it."""

    job_id: int
    protocol: str
    result: Any = Field(description="The run's public result (numbers and hashes), or null")
    result_hashed: bool = Field(description="Whether result_hash is the keccak256 of the result's canonical JSON")
    result_hash: str | None
    transcript_root: str
    transcript_leaves: list[str] = Field(description="Message hashes in transcript order; leaf = keccak(keccak(hash))")
    transcript_entries: int
    weights: list[int]
    utility_table_hash: str
    contribution_hash: str
    contribution: dict[str, Any] | None = Field(description="Utility table, rule inputs and weights, or null")
    metadata: dict[str, Any]
