"""Consent: the three policies a provider chooses, and the one data check every consent path runs.

`check_source` is the check: read the source's file once into a snapshot and compare it with
the commitment version the job recorded (schema hash, row root, row count). The runner, `custos
job consent` and the gateway's consent route all consent through `consent` or `check_source`,
and the runner hands the checked snapshot to the protocol (`compute.jobs.snapshot`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from compute.errors import InvalidInput
from compute.jobs.service.opening import JobContracts
from compute.jobs.snapshot import DataSnapshot, RecordedCommitment, checked_snapshot
from compute.jobs.workspace import SourceFile, Workspace
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
) -> list[Consented]:
    """Check and consent to `job_id` for every source of `owner` it uses (or those in `only`).

    InvalidInput when the job uses none of them, when the workspace holds no data for one, or
    when one's data no longer matches its commitment (DataMismatch); no consent is sent then.
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
    for source_id, version in mine:
        source = workspace.sources.get(source_id)
        if source is None:
            raise InvalidInput(f"the workspace {workspace.folder} holds no data for source {source_id}")
        checked.append((source_id, version, check_source(contracts, source, version)))
    done = []
    for source_id, version, snapshot in checked:  # every check passed before the first transaction
        given = contracts.jobs.has_consented(job_id, source_id)
        receipt = None if given else contracts.jobs.consent(job_id, source_id)
        done.append(Consented(source_id, version, snapshot, receipt))
    return done
