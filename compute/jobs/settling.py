"""The runner's time-driven steps: what moves a job on once its deadline or a window has passed.

- the requester cancels a job still Open or Ready past its deadline (the escrow goes back);
- the requester finalises a committed job every attester signed, once the challenge window is over;
- anyone involved escalates a committed job whose attestations are still missing past the
  attestation window, so the escrow cannot stay locked by a silent party (the liveness path);
- anyone involved settles a disputed job governance did not resolve within the resolution window.
Each returns, like the runner's other steps, the seconds until the job's next due time.
"""

from __future__ import annotations

from compute.jobs.job_steps import JobView, StepLog
from ledger.bindings import JobStatus
from ledger.member import MemberLedger

IDLE = 5.0  # seconds between looks at a job with nothing due (events wake it sooner)


def due(now: int, *times: int) -> float:
    """Seconds until the earliest of `times` still ahead of `now` (chain seconds), IDLE if none is."""
    ahead = [t - now for t in times if t >= now]
    return float(min(ahead) + 1) if ahead else IDLE


class Settling:
    """A party's deadline and window steps on the jobs that involve it."""

    def __init__(self, member: MemberLedger, steps: StepLog) -> None:
        self.member, self.steps = member, steps

    def past_deadline(self, job_id: int, view: JobView, now: int) -> bool:
        """Whether the job is Open or Ready past its deadline (then the requester cancels it)."""
        job = view.job
        if job.status not in (JobStatus.OPEN, JobStatus.READY) or now <= job.deadline:
            return False
        if self.member.address == job.requester:
            self.steps.once(job_id, "cancel", lambda: self.member.jobs.cancel(job_id), "past the deadline: cancelled")
        return True

    def committed(self, job_id: int, view: JobView, now: int) -> float:
        """Finalise (the requester) or escalate a committed job whose window is over; seconds until the next."""
        job, terms = view.job, self.member.jobs.job_terms(job_id)
        signed = job.attestations >= len(view.attesters)
        if self.member.address == job.requester and signed and now >= job.committed_at + terms.challenge_window:
            self.steps.once(job_id, "finalize", lambda: self.member.jobs.finalize(job_id), "escrow split and credited")
        if not signed and now >= job.committed_at + terms.attestation_window:
            # Someone is silent after commit: send the job to resolution so the escrow cannot stay locked.
            self.steps.once(job_id, "escalate", lambda: self.member.jobs.escalate(job_id), "attestations missing")
        return due(now, job.committed_at + terms.challenge_window, job.committed_at + terms.attestation_window)

    def disputed(self, job_id: int, now: int) -> float:
        """Settle a dispute governance left unresolved past its window (the default applies); seconds until then."""
        terms = self.member.jobs.job_terms(job_id)
        if now >= terms.disputed_at + terms.resolution_window:
            self.steps.once(
                job_id,
                "settle-unresolved",
                lambda: self.member.jobs.settle_unresolved(job_id),
                "governance did not resolve in time: the default applied",
            )
        return due(now, terms.disputed_at + terms.resolution_window)
