"""Audit bodies: jobs, their verified timelines, data sources and payouts."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ledger.protocol import JobKind

DetailKind = Literal["address", "amount", "hash", "tx", "block", "job", "source", "text", "time", "bool"]


class StepDetail(BaseModel):
    """One decoded argument of a step, labelled for a person (payee, amount, source, signer, ...)."""

    label: str
    value: str = Field(description="Exact value: an address, a hash, base units, an id or text")
    kind: DetailKind = Field(description="How to show and link it")


class CheckResult(BaseModel):
    """One verification check attached to a step: what was checked, its outcome and why."""

    name: str = Field(description="e.g. log in receipt, block canonical, seal, attestation signature, payout")
    status: Literal["passed", "failed", "not applicable"]
    detail: str = ""


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
    verified: bool | None = Field(None, description="Whether the job's trail verified (None: not checked here)")


class TimelineStep(BaseModel):
    """One on-chain step of a trail, with the result of verifying it."""

    index: int = Field(description="Position in the trail, from 0")
    job_id: int | None = Field(None, description="The job the event belongs to, if any")
    event: str = Field(description="The contract event, e.g. JobOpened, ConsentGiven, ResultCommitted")
    contract: str
    actor: str = Field(description="Who caused it (the transaction's sender)")
    block_number: int
    block_time: int
    tx_hash: str
    block_hash: str = ""
    verified: bool
    checks: list[str] = Field(description="What was verified, or why verification failed")
    results: list[CheckResult] = Field(default_factory=list, description="The same checks, structured")
    details: list[StepDetail] = Field(default_factory=list, description="The event's arguments, decoded")


class StepProof(BaseModel):
    """The evidence behind one step's mark: receipt, block and signature or Merkle proofs."""

    index: int
    verified: bool
    proof: dict[str, Any]


class SourceTerm(BaseModel):
    """One input of a job: the source, the version used, its owner and price per use at opening."""

    source_id: int
    version: int
    owner: str
    price_per_use: int


class JobTerms(BaseModel):
    """What the job was opened with (its terms, fixed then for its whole life) and what it committed."""

    kind: str
    params_hash: str
    inputs_hash: str
    budget: int
    deadline: int = Field(description="Unix time after which consent and commit are refused")
    fee_bps: int = Field(description="The compute fee in basis points, fixed at opening (JobOpened)")
    challenge_window: int = Field(description="Seconds from the commit during which a participant may dispute")
    attestation_window: int = Field(description="Seconds from the commit for every attester to sign before escalation")
    resolution_window: int = Field(description="Seconds governance has to resolve a dispute before the default applies")
    price_sum: int = Field(description="Σ the sources' prices per use at opening, in base units")
    max_total_price: int | None = Field(
        None,
        description="The cap on Σ prices the requester set in its openJob call (the contract refused more); "
        "None when the opening transaction is not a direct openJob call or the node does not serve it",
    )
    sources: list[SourceTerm]
    compute_parties: list[str]
    result_hash: str | None = None
    transcript_root: str | None = None
    contribution_hash: str | None = None
    utility_table_hash: str | None = None
    committed_at: int | None = None
    disputed_at: int | None = Field(None, description="When the job was disputed or escalated, if it was")
    finalized_at: int | None = None


class SettlementLine(BaseModel):
    """One credit: who, why, the formula that derives it, what the rule implies and what was credited."""

    payee: str
    reason: str
    formula: str
    expected: int
    credited: int | None
    matches: bool


class SettlementBreakdown(BaseModel):
    """How the escrow was split: prices first, the fee, weighted shares of the rest, dust."""

    escrow: int
    price_sum: int
    pool: int = Field(description="escrow − Σ prices")
    fee_bps: int
    fee: int
    rest: int = Field(description="pool − fee, split by weight")
    weight_sum: int
    dust: int = Field(description="Integer rounding left over; credited to compute party #0")
    lines: list[SettlementLine]
    matches: bool = Field(description="Every credit equals what the payout rule implies")


class Contribution(BaseModel):
    """One source's committed contribution weight (Shapley value, scaled) and its share."""

    source_id: int
    owner: str
    weight: int
    share: str = Field(description="weight / Σ weights, exact to 0.01 %")


class UtilityEntry(BaseModel):
    """One coalition of the utility table and its measured utility."""

    coalition: list[int] = Field(description="The coalition's on-chain source ids")
    utility: float


class UtilityTableView(BaseModel):
    """A participant's utility table for the job and whether the committed weights follow from it."""

    metric: str
    method: str
    sources: list[int] = Field(description="On-chain source ids in the table's order")
    entries: list[UtilityEntry]
    scores: list[float]
    weights: list[int]
    checks: list[CheckResult]
    verified: bool


class VerifiedAt(BaseModel):
    """Where the verification ran: which node, at which block, sealed by whom."""

    node: str
    block_number: int
    block_hash: str
    sealed: str = Field(description="e.g. 'sealed by 1 of 1 validators' or why there are no seals")


class JobTrail(BaseModel):
    """A job's summary and its full timeline."""

    job: JobSummary
    steps: list[TimelineStep]
    verified: bool = Field(description="Whether every step verified")
    job_checks: list[CheckResult] = Field(
        default_factory=list, description="Checks about the whole job that concern no single step"
    )
    terms: JobTerms | None = None
    settlement: SettlementBreakdown | None = None
    contributions: list[Contribution] = Field(default_factory=list)
    verified_at: VerifiedAt | None = None


class SourceVersion(BaseModel):
    """One commitment version of a data source."""

    version: int
    commitment: str
    row_count: int
    block_number: int
    block_time: int


class SourceUsePublic(BaseModel):
    """One job that used a source: the version it used, how consent was given, and what the owner was paid."""

    job_id: int
    version: int | None
    status: str
    consent: Literal["explicit", "automatic"] | None = Field(description="None: no consent recorded yet")
    paid: int = Field(description="Credited to the source's owner for this job, in base units")


class SourceSummary(BaseModel):
    """A data source, its commitment history and the jobs that used it."""

    source_id: int
    owner: str
    active: bool
    price_per_use: int
    versions: list[SourceVersion]
    used_by: list[int] = Field(description="Ids of the jobs that used this source")
    uses: list[SourceUsePublic] = Field(default_factory=list, description="Each use in detail")


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
