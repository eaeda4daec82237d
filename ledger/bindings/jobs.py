"""JobLedger: open a job, consent, commit, attest, finalise, dispute, cancel, abort."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from ledger.bindings.base import ContractBinding, addresses, hash32
from ledger.bindings.registry import DataRegistry
from ledger.client.sender import Receipt


class JobStatus(IntEnum):
    """JobTypes.Status."""

    OPEN = 0
    READY = 1
    COMMITTED = 2
    DISPUTED = 3
    FINALIZED = 4
    REFUNDED = 5
    CANCELLED = 6
    ABORTED = 7


@dataclass(frozen=True)
class Job:
    """A job as the ledger holds it now."""

    job_id: int
    requester: str
    kind: int
    status: JobStatus
    deadline: int
    committed_at: int
    consents: int
    attestations: int
    budget: int
    params_hash: bytes
    inputs_hash: bytes
    result_hash: bytes
    transcript_root: bytes
    contribution_hash: bytes
    utility_table_hash: bytes


@dataclass(frozen=True)
class JobTerms:
    """The terms fixed when the job opened, and when it was disputed or escalated (0: never)."""

    fee_bps: int
    challenge_window: int
    attestation_window: int
    resolution_window: int
    disputed_at: int


@dataclass(frozen=True)
class OpenedJob:
    """A job just opened: its id, inputs hash, and the sources that consented by policy."""

    job_id: int
    inputs_hash: bytes
    auto_consented: tuple[int, ...]
    receipt: Receipt


@dataclass(frozen=True)
class Settled:
    """A job just finalised: the escrow and each credit (payee, amount) in emission order."""

    job_id: int
    escrow: int
    credits: tuple[tuple[str, int], ...]
    receipt: Receipt


class JobLedger(ContractBinding):
    """The JobLedger contract."""

    NAME = "JobLedger"

    def open_job(
        self,
        kind: int,
        source_ids: Sequence[int],
        params_hash: bytes,
        compute_parties: Sequence[str],
        budget: int,
        deadline: int,
        max_total_price: int | None = None,
        epsilons: Sequence[int] | None = None,
        delta: int = 0,
    ) -> OpenedJob:
        """Open a job; `budget` tokens must be approved to Settlement first.

        The contract refuses the job if the sources' prices sum to more than `max_total_price` when the
        transaction runs; by default that is their sum as read now, so a price raised in between fails it.
        With `epsilons` (micro-ε per source, aligned with `source_ids`) and `delta` (atto-δ) the job is
        differentially private (`openDpJob`): the contract reserves them on each source's budget or
        refuses; without, it releases an exact result, which every source must allow.
        """
        if max_total_price is None:
            max_total_price = self._price_sum(source_ids)
        common = (kind, list(source_ids), params_hash, addresses(compute_parties), budget, max_total_price, deadline)
        if epsilons is None:
            receipt = self._send("openJob", *common)
        else:
            receipt = self._send("openDpJob", *common, (list(epsilons), delta))
        opened = self._one(receipt, "JobOpened")
        auto = tuple(e["sourceId"] for e in self.events(receipt, "ConsentGiven"))
        return OpenedJob(opened["jobId"], hash32(opened["inputsHash"]), auto, receipt)

    def consent(self, job_id: int, source_id: int) -> Receipt:
        """Consent to the job's use of a source the sender owns."""
        return self._send("consent", job_id, source_id)

    def commit_result(
        self,
        job_id: int,
        result_hash: bytes,
        transcript_root: bytes,
        weights: Sequence[int],
        utility_table_hash: bytes,
        epsilons_spent: Sequence[int] | None = None,
    ) -> Receipt:
        """Commit the result, transcript root and contribution weights (a compute party); a DP job
        also reports the micro-ε it spent per source (`commitDpResult`), which the attestation covers."""
        args = (job_id, result_hash, transcript_root, list(weights), utility_table_hash)
        if epsilons_spent is None:
            return self._send("commitResult", *args)
        return self._send("commitDpResult", *args, list(epsilons_spent))

    def attest(self, job_id: int, signer: str, signature: bytes) -> Receipt:
        """Submit a participant's EIP-712 attestation signature."""
        return self._send("attest", job_id, signer, signature)

    def finalize(self, job_id: int) -> Settled:
        """Finalise after every attestation and the challenge window; the escrow is split."""
        receipt = self._send("finalize", job_id)
        escrow = self._one(receipt, "JobFinalized")["escrow"]
        credits = tuple((e["payee"], e["amount"]) for e in _settlement_credits(self, receipt))
        return Settled(job_id, escrow, credits, receipt)

    def dispute(self, job_id: int, evidence_hash: bytes) -> Receipt:
        """Dispute the committed result during the challenge window (a participant)."""
        return self._send("dispute", job_id, evidence_hash)

    def escalate(self, job_id: int) -> Receipt:
        """Send a committed job to resolution once its attestation window passed with signatures missing."""
        return self._send("escalate", job_id)

    def settle_unresolved(self, job_id: int) -> Receipt:
        """Apply the default (owners' prices, the rest refunded) to a dispute left past its resolution window."""
        return self._send("settleUnresolved", job_id)

    def cancel(self, job_id: int) -> Receipt:
        """Cancel after the deadline without a committed result (a participant); escrow refunded
        (once Ready, after paying the sources' prices)."""
        return self._send("cancel", job_id)

    def abort(self, job_id: int, reason: bytes) -> Receipt:
        """Abort before commit with a reason (a participant); escrow refunded (once Ready, after paying
        the prices of the sources the sender does not own)."""
        return self._send("abort", job_id, reason)

    def job_terms(self, job_id: int) -> JobTerms:
        """The job's fee and windows as fixed at opening, and when it was disputed or escalated."""
        (fee, challenge, attestation, resolution), disputed_at = self._call("jobTerms", job_id)
        return JobTerms(fee, challenge, attestation, resolution, disputed_at)

    def job(self, job_id: int) -> Job:
        """The job's current state."""
        values = self._call("job", job_id)
        (requester, kind, status, deadline, committed_at, consents, attestations, budget) = values[:8]
        hashes = [hash32(v) for v in values[8:]]
        return Job(
            job_id, requester, kind, JobStatus(status), deadline, committed_at, consents, attestations, budget, *hashes
        )

    def job_sources(self, job_id: int) -> tuple[tuple[int, ...], tuple[int, ...], tuple[str, ...], tuple[int, ...]]:
        """(sourceIds, versions, owners, prices) as recorded at opening."""
        ids, versions, owners, prices = self._call("jobSources", job_id)
        return tuple(ids), tuple(versions), tuple(owners), tuple(prices)

    def attestation_digest(self, job_id: int) -> bytes:
        """The EIP-712 digest each attester signs for this job."""
        return bytes(self._call("attestationDigest", job_id))

    def job_parties(self, job_id: int) -> tuple[tuple[str, ...], tuple[int, ...], tuple[str, ...]]:
        """(computeParties, committed weights, attesters) of the job."""
        compute, weights, attesters = self._call("jobParties", job_id)
        return tuple(compute), tuple(weights), tuple(attesters)

    def has_consented(self, job_id: int, source_id: int) -> bool:
        """Whether the source's owner (or its policy) consented to the job."""
        return bool(self._call("hasConsented", job_id, source_id))

    def has_attested(self, job_id: int, signer: str) -> bool:
        """Whether `signer`'s attestation of the job is recorded."""
        return bool(self._call("hasAttested", job_id, signer))

    def challenge_window(self) -> int:
        """Seconds between a commit and the earliest finalisation, for jobs opened from now on."""
        return int(self._call("challengeWindow"))

    def _price_sum(self, source_ids: Sequence[int]) -> int:
        registry = DataRegistry(self.sender, self._call("wiring")[0])
        return sum(registry.source(source_id).price_per_use for source_id in source_ids)

    def privacy_budget(self) -> str:
        """The address of the PrivacyBudget this ledger created."""
        return str(self._call("privacyBudget"))

    def job_count(self) -> int:
        """How many jobs were ever opened."""
        return int(self._call("jobCount"))


def _settlement_credits(ledger: JobLedger, receipt: Receipt) -> list[dict[str, Any]]:
    """PaymentCredited events (emitted by Settlement) in a JobLedger receipt."""
    from ledger.bindings.settlement import Settlement

    settlement_address = ledger._call("wiring")[1]
    return Settlement(ledger.sender, settlement_address).events(receipt, "PaymentCredited")
