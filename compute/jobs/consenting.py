"""A provider's consent, and the checked data a protocol run reads (compute/jobs/snapshot.py).

For each of this party's sources in a job, consent reads the file once, checks it against the
commitment the job recorded (schema hash, row root, row count) and that the job's privacy
reservation covers what its mechanism spends: the one consent check every consent path runs
(`service.consent.consent_check`); then it consents on chain and keeps the checked snapshot. The
protocol run reads those bytes (`data_for_run`), never the file again; a source consented
elsewhere is read and checked at that point instead. A mismatch aborts the job, naming the source.
"""

from __future__ import annotations

from compute.errors import InvalidInput, PartyUnreachable
from compute.jobs.job_steps import JobView, Params, StepLog
from compute.jobs.privacy_check import PrivacyRefused
from compute.jobs.service.consent import check_source, consent_check
from compute.jobs.snapshot import DataSnapshot, JobData
from compute.jobs.workspace import Workspace
from ledger.member import MemberLedger


class Consenting:
    """One party's consents and the data snapshots they checked, per job."""

    def __init__(self, workspace: Workspace, member: MemberLedger, me: str, steps: StepLog) -> None:
        self.workspace, self.member, self.me, self.steps = workspace, member, me, steps
        self._checked: dict[tuple[int, int], DataSnapshot] = {}  # (job, source): the bytes consent checked

    def holding(self) -> set[int]:
        """The jobs whose checked snapshots are kept, waiting for their protocol run."""
        return {job for job, _ in tuple(self._checked)}

    def forget(self, job_id: int) -> None:
        """Let go of the job's snapshots (it ended before its run read them)."""
        # Other workers add while this one forgets: copy the keys first (tuple() is one step under the GIL).
        for key in [k for k in tuple(self._checked) if k[0] == job_id]:
            self._checked.pop(key, None)

    def _matching(self, job_id: int, source_id: int, version: int) -> DataSnapshot | None:
        """The source's file read once and checked against commitment `version`; None (and why) if it does not match."""
        source = self.workspace.sources.get(source_id)
        if source is None:
            self.steps.progress(job_id, "data-mismatch", f"source {source_id}: this workspace holds no data for it")
            return None
        try:
            return check_source(self.member, source, version)
        except InvalidInput as exc:
            self.steps.progress(job_id, "data-mismatch", str(exc))
            return None

    def consent_all(self, job_id: int, view: JobView, params: Params) -> None:
        """Consent to each of this party's sources of the job whose data checks and whose privacy budget covers it.

        A source whose file does not match its commitment, or whose reservation does not cover the
        mechanism's ε, aborts the job instead, naming why; a source with an explicit policy is left to
        `custos job consent`. The snapshot each consent checked is kept for the protocol run.
        """
        for source_id, version, owner in zip(view.source_ids, view.versions, view.owners):
            if owner != self.me or self.member.jobs.has_consented(job_id, source_id):
                continue
            source = self.workspace.sources.get(source_id)
            if source is not None and not source.runner_consents:
                if (job_id, f"await-{source_id}") not in self.steps.handled:
                    self.steps.handled.add((job_id, f"await-{source_id}"))
                    self.steps.progress(
                        job_id, "awaiting-consent", f"source {source_id}: `custos job consent {job_id}`"
                    )
                continue
            if source is None:
                self.steps.progress(job_id, "data-mismatch", f"source {source_id}: this workspace holds no data for it")
                self.steps.abort(job_id, f"DATA_MISMATCH source {source_id}")
                return
            # The one consent check: the data, then the privacy reservation (issue 20) against the accountant.
            document = lambda: params(job_id, view)  # noqa: E731  # loaded only for DP jobs
            try:
                snapshot = consent_check(self.member, source, version, job_id, document)
            except PartyUnreachable as exc:  # the requester serves its document once it is up: next round
                self.steps.progress(job_id, "awaiting-parameters", str(exc))
                return
            except PrivacyRefused as exc:
                self.steps.abort(job_id, str(exc))
                return
            except InvalidInput as exc:
                self.steps.progress(job_id, "data-mismatch", str(exc))
                self.steps.abort(job_id, f"DATA_MISMATCH source {source_id}")
                return
            self._checked[(job_id, source_id)] = snapshot  # the protocol reads these bytes, not the file again
            self.steps.once(
                job_id,
                f"consent:{source_id}",
                lambda s=source_id: self.member.jobs.consent(job_id, s),  # type: ignore[misc]  # default binds the loop value
                f"source {source_id} v{version}: data matches its commitment",
            )

    def data_for_run(self, job_id: int, view: JobView) -> JobData:
        """This party's data for the run: the snapshots its consent checked, else each file read and checked now.

        Either way the protocol reads checked bytes only: a file edited after this runner consented is
        not read again, and one edited after a consent given elsewhere fails the check here (the job aborts).
        """
        snapshots = {}
        for source_id, version, owner in zip(view.source_ids, view.versions, view.owners):
            if owner != self.me:
                continue
            snapshot = self._checked.pop((job_id, source_id), None) or self._matching(job_id, source_id, version)
            if snapshot is None:
                raise InvalidInput(f"DATA_MISMATCH source {source_id}")
            snapshots[source_id] = snapshot
        return JobData(snapshots, self.workspace.folder)

    def record_access(self, job_id: int, view: JobView, protocol: str) -> None:
        """An audit record for each of this party's sources the protocol is about to read."""
        for source_id, version, owner in zip(view.source_ids, view.versions, view.owners):
            if owner == self.me:
                recorded = self.member.registry.commitment_at(source_id, version)
                self.steps.audit.add(
                    job_id,
                    "data-access",
                    source_id=source_id,
                    version=version,
                    commitment="0x" + recorded.commitment.hex(),
                    rows=recorded.row_count,
                    protocol=protocol,
                )
