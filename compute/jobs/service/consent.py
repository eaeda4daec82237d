"""Consent: the three policies a provider chooses, and the one check every consent path runs.

`consent_check` is the check. First the data: read the source's file once into a snapshot and
compare it with the commitment version the job recorded (schema hash, row root, row count;
`check_source`). Then the privacy budget: a DP job's reservation on chain must cover the ε its
mechanism spends, as the accountant computes it from the parameter document
(`compute.jobs.privacy_check.consent_refusal`). The runner, `custos job consent` and the
gateway's consent route all consent through it (`consent` runs it for every source first), and
the runner hands the checked snapshot to the protocol (`compute.jobs.snapshot`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from compute.errors import InvalidInput
from compute.jobs.peers import PeerDirectory
from compute.jobs.privacy_check import Document, PrivacyRefused, consent_refusal
from compute.jobs.service.opening import JobContracts
from compute.jobs.snapshot import DataSnapshot, RecordedCommitment, checked_snapshot
from compute.jobs.workspace import SourceFile, Workspace
from compute.party import Address
from ledger.client.sender import Receipt


class ConsentPolicy(StrEnum):
    """How a source consents to the jobs its on-chain policy allows."""

    RUNNER = "runner"  # the owner's runner consents after checking the data
    EXPLICIT = "explicit"  # the owner consents per job (`custos job consent`, the gateway), after the same check
    AUTO = "auto"  # the contract consents at opening; the runner still checks the data before computing

    @classmethod
    def parse(cls, text: str) -> ConsentPolicy:
        """The policy named `text`; InvalidInput naming the three otherwise."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise InvalidInput(f"unknown consent policy {text!r} (runner, explicit or auto)") from None

    def auto_consent_kinds(self, allowed_kinds: int) -> int:
        """The on-chain `autoConsentKinds` mask for a source allowing `allowed_kinds`."""
        return allowed_kinds if self is ConsentPolicy.AUTO else 0

    @property
    def runner_consents(self) -> bool:
        """Whether the owner's runner consents on its own."""
        return self is ConsentPolicy.RUNNER


def recorded_commitment(contracts: JobContracts, source_id: int, version: int) -> RecordedCommitment:
    """What the chain recorded for `version` of the source: its schema hash (fixed at registration), root and rows."""
    recorded = contracts.registry.commitment_at(source_id, version)
    schema = contracts.registry.source(source_id).schema_hash
    return RecordedCommitment(source_id, version, schema, recorded.commitment, recorded.row_count)


def check_source(contracts: JobContracts, source: SourceFile, version: int) -> DataSnapshot:
    """The one consent check: `source`'s file, read once, against commitment `version`; the snapshot to use."""
    return checked_snapshot(source, recorded_commitment(contracts, source.source_id, version))


def consent_check(
    contracts: JobContracts, source: SourceFile, version: int, job_id: int, document: Document
) -> DataSnapshot:
    """The one consent check: `source`'s data against commitment `version` (DataMismatch), then the job's
    privacy reservation against the accountant's ε for its parameter `document` (PrivacyRefused, also for
    a document the accountant cannot read). PartyUnreachable when the document cannot be fetched yet."""
    snapshot = check_source(contracts, source, version)
    kind, sources = contracts.jobs.job(job_id).kind, len(contracts.jobs.job_sources(job_id)[0])
    try:
        refusal = consent_refusal(contracts.privacy, job_id, kind, document, sources)
    except InvalidInput as exc:  # a document that does not parse, or that does not hash to the job's
        refusal = f"PRIVACY {exc}"
    if refusal is not None:
        raise PrivacyRefused(refusal)
    return snapshot


def job_parameters(contracts: JobContracts, workspace: Workspace, job_id: int, timeout: float = 10.0) -> Document:
    """A loader of the job's parameter document: this workspace's copy, else the requester's, fetched from
    the endpoint it publishes on chain and checked against the job's parameter hash (`PeerDirectory.params`)."""

    @cache  # one fetch however many of the job's sources this party consents for
    def load() -> dict[str, object]:
        job = contracts.jobs.job(job_id)
        if (workspace.folder / "params" / f"{job.params_hash.hex()}.json").is_file():
            return workspace.get_params(job.params_hash)

        def published(address: Address) -> tuple[bytes, str]:
            member = contracts.consortium.member(address)
            return member.transport_key, member.endpoint

        peers = PeerDirectory(published)
        try:
            return peers.params(job.requester, job.params_hash, timeout)
        finally:
            peers.close()

    return load


@dataclass(frozen=True)
class Consented:
    """One source's consent to a job: the version checked, the checked snapshot, its transaction (None: earlier)."""

    source_id: int
    version: int
    snapshot: DataSnapshot
    receipt: Receipt | None

    @property
    def already(self) -> bool:
        """Whether the consent had been given before this call."""
        return self.receipt is None


def consent(
    contracts: JobContracts,
    workspace: Workspace,
    owner: str,
    job_id: int,
    only: Collection[int] | None = None,
    document: Document | None = None,
) -> list[Consented]:
    """Check and consent to `job_id` for every source of `owner` it uses (or those in `only`).

    Every source passes `consent_check` before the first consent is sent, so none is sent when
    the job uses none of them, when the workspace holds no data for one (InvalidInput), when
    one's data no longer matches its commitment (DataMismatch), or when the job's privacy
    reservation does not cover the accountant's ε (PrivacyRefused). `document` loads the job's
    parameters (default: `job_parameters`); it is read only for a job that reserved budget.
    """
    source_ids, versions, owners, _ = contracts.jobs.job_sources(job_id)
    mine = [
        (s, v)
        for s, v, o in zip(source_ids, versions, owners)
        if o.lower() == owner.lower() and (only is None or s in only)
    ]
    if not mine:
        wanted = f"source {sorted(only)}" if only is not None else f"any source of {owner}"
        raise InvalidInput(f"job {job_id} does not use {wanted}")
    checked = []
    parameters = document or job_parameters(contracts, workspace, job_id)
    for source_id, version in mine:
        source = workspace.sources.get(source_id)
        if source is None:
            raise InvalidInput(f"the workspace {workspace.folder} holds no data for source {source_id}")
        checked.append((source_id, version, consent_check(contracts, source, version, job_id, parameters)))
    done = []
    for source_id, version, snapshot in checked:  # every check passed before the first transaction
        given = contracts.jobs.has_consented(job_id, source_id)
        receipt = None if given else contracts.jobs.consent(job_id, source_id)
        done.append(Consented(source_id, version, snapshot, receipt))
    return done
