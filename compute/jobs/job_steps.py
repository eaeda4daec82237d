"""What the runner's collaborators share about each job: how they see it, and the steps sent for it.

A runner (compute/jobs/runner.py) moves a job on through its collaborators (consenting.py,
settling.py, ...). Each reads the job as a `JobView` (one look at the chain), reports what it
did as a `Progress` step, and sends every on-chain step through `StepLog.once`, so a step is sent
once per runner process however often the job is looked at; a decision to abort is kept, so a
send that failed (the node was away) is sent again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from compute.jobs.job_audit import JobAudit
from ledger.errors import ContractRevert
from ledger.member import MemberLedger


def reason_code(text: str) -> bytes:
    """A short ASCII reason as the bytes32 the contract records (readable in the audit trail)."""
    return text.encode("ascii", "replace")[:32].ljust(32, b"\x00")


@dataclass(frozen=True)
class Progress:
    """One step a runner took, for the CLI's progress display and the gateway's event stream."""

    job_id: int
    party: str
    stage: str
    detail: str = ""


@dataclass
class JobView:
    """One look at a job on chain: the job, its sources (ids, versions, owners) and its parties."""

    job: Any
    source_ids: tuple[int, ...]
    versions: tuple[int, ...]
    owners: tuple[str, ...]
    compute: tuple[str, ...]
    attesters: tuple[str, ...]


Params = Callable[[int, JobView], dict[str, Any]]  # job id, view -> its parameter document (fetched if need be)


class StepLog:
    """This runner's progress reports and the on-chain steps it sent, per job."""

    def __init__(
        self, member: MemberLedger, audit: JobAudit, party: str, on_progress: Callable[[Progress], None]
    ) -> None:
        self.member, self.audit, self.party = member, audit, party
        self._on_progress = on_progress
        self._lock = threading.Lock()  # workers report from their own threads
        self.handled: set[tuple[int, str]] = set()  # (job, step) sent, or decided for good
        self.aborting: dict[int, str] = {}  # job -> the reason this party decided to abort it with

    def progress(self, job_id: int, stage: str, detail: str = "") -> None:
        """Report one step of `job_id` (-1: of the runner itself)."""
        with self._lock:
            self._on_progress(Progress(job_id, self.party, stage, detail))

    def once(self, job_id: int, what: str, action: Callable[[], Any], detail: str) -> None:
        """Send one on-chain step once; `what` is the step ("consent:3" names the source too)."""
        stage = what.split(":")[0]
        if (job_id, what) in self.handled:
            return
        try:
            action()
        except ContractRevert as exc:  # another party got there first, or the state moved on
            self.progress(job_id, stage + "-skipped", type(exc).__name__)
            return
        self.handled.add((job_id, what))
        self.progress(job_id, stage, detail)

    def abort(self, job_id: int, reason: str) -> None:
        """Abort the job on chain; the decision is kept (and recorded for audit) so a failed send is retried."""
        if job_id not in self.aborting:
            self.aborting[job_id] = reason
            self.audit.add(job_id, "failure", reason=reason)
        self.once(job_id, "abort", lambda: self.member.jobs.abort(job_id, reason_code(reason)), reason)

    def forget(self, job_id: int) -> None:
        """Let go of the steps of a final job."""
        # Other workers add while this one forgets: copy first (tuple() of a set is one step under the GIL).
        self.handled.difference_update([h for h in tuple(self.handled) if h[0] == job_id])
        self.aborting.pop(job_id, None)
