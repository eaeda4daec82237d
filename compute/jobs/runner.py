"""The job runner: one party that follows the chain's job events and plays its part in every job.

On start-up one ranged scan of the job events finds the jobs that are not final and involve
this party; from then on only new events are read (one `eth_getLogs` per new block range). Each
live job has its own worker thread (compute/jobs/following.py), woken by the events about it or
when its next deadline or window is due, and each step re-reads the job on chain first, so a
restarted runner picks every job up where the chain says it stands. A node that goes away is
waited for with a capped backoff. The runner dispatches; its collaborators do the steps:
- `Consenting` (compute/jobs/consenting.py): a provider checks its file still matches the
  commitment the job recorded and that the privacy reservation covers the job, then consents
  (or aborts the job, naming why), keeping the checked snapshot for the run;
- the runner itself: once the job is Ready, every protocol party runs its role over HTTP;
- `Vouching` (compute/jobs/vouching.py): the run is re-derived and checked, kept on disk
  (compute/jobs/checked_runs.py, so a runner restarted after its run still commits or signs
  it), committed by the first compute party, signed by every attester whose own run it
  matches (or disputed), and its result bundle saved at commit;
- `CommitWait` (compute/jobs/commit_wait.py): a party whose run is done aborts the job if no
  commit is on chain `protocol_timeout` seconds later (the committer is gone);
- `Settling` (compute/jobs/settling.py): the requester finalises after the challenge window
  or cancels past the deadline; missing attestations are escalated, unresolved disputes settled.
Every on-chain step goes through `StepLog` (compute/jobs/job_steps.py): sent once, and an
abort decision kept until it is sent. A protocol failure aborts the job on chain with a short
reason code, so the escrow goes back and the audit trail says why. Nothing is released before
the job is final. This party's data-access and failure records are anchored on chain when the
job ends (compute/jobs/job_audit.py), and everything the runner held about the job, in memory
or in `runs/`, is let go then.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from compute.channel import Channel, Job
from compute.errors import ComputeError, InvalidInput
from compute.jobs.commit_wait import CommitWait
from compute.jobs.consenting import Consenting
from compute.jobs.following import ChainFollower, JobWorkers
from compute.jobs.job_audit import JobAudit
from compute.jobs.job_steps import JobView, Progress, StepLog
from compute.jobs.kinds import JobKind, KindMismatch, Plan, kind_of
from compute.jobs.peers import PeerDirectory, party_router
from compute.jobs.settling import IDLE, Settling, due
from compute.jobs.snapshot import JobData
from compute.jobs.vouching import Vouching
from compute.jobs.workspace import Workspace
from compute.party import Address, Party
from compute.session import PartyOutcome, run_role
from compute.transport import HttpTransport, Mailbox, MessageEndpoint, serve_endpoint
from ledger.bindings import JobStatus
from ledger.errors import LedgerError
from ledger.member import MemberLedger
from ledger.protocol import AttestationDomain

FINAL = {JobStatus.FINALIZED, JobStatus.REFUNDED, JobStatus.CANCELLED, JobStatus.ABORTED}
# How long a runner process that is told to stop (SIGTERM) lets each job's current step end (a transaction
# takes well under a second) before it abandons the step: a protocol run can wait minutes for its peers.
STOP_GRACE_SECONDS = 1.0
NO_COMMIT = "PROTOCOL no commit"  # the run is done, but the committer did not commit in time


class JobRunner:
    """Runs this party's part of every job that involves it."""

    def __init__(
        self,
        workspace: Workspace,
        member: MemberLedger,
        *,
        protocol_timeout: float = 120.0,
        on_progress: Callable[[Progress], None] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        endpoint: MessageEndpoint | None = None,
        public_url: str | None = None,
    ) -> None:
        """Serve the party endpoint on `host:port`, or, given `endpoint`, use a host application's.

        With `endpoint` the runner starts no server: it registers its mailboxes there, the host mounts
        `router(endpoint)` and `party_routes()`, and `public_url` (required then) is what peers reach.
        Without it, `public_url` (if given) is published instead of the bound address, for a runner
        behind a bridge, a proxy or NAT.
        """
        self.workspace, self.member = workspace, member
        self.party = Party.from_keys(bytes(member.sender.account.key), workspace.transport_key)
        self.protocol_timeout = protocol_timeout
        self._mailboxes: dict[int, Mailbox] = {}
        self._lock = threading.Lock()
        self.audit = JobAudit(workspace.folder, member.anchor.job_sink, workspace.name)
        self.steps = StepLog(member, self.audit, workspace.name, on_progress or (lambda event: None))
        self.settling = Settling(member, self.steps)
        self.consenting = Consenting(workspace, member, self.party.address, self.steps)
        self.commit_wait = CommitWait(protocol_timeout)
        self._stop_serving: Callable[[], None] = lambda: None
        if endpoint is None:
            self._endpoint = MessageEndpoint()
            server = serve_endpoint(self._endpoint, host, port, extra=[self.party_routes()])
            self._stop_serving, self.url = server.stop, public_url or server.url
        elif public_url is None:
            raise ValueError("a runner on a host's endpoint needs the public_url its peers reach it at")
        else:
            self._endpoint, self.url = endpoint, public_url
        # A peer that does not answer is given up on within the protocol timeout, not the client's default.
        self.peers = PeerDirectory(self._published, timeout=min(10.0, protocol_timeout))
        self.domain = AttestationDomain(member.deployment.chain_id, member.jobs.address)
        self.vouching = Vouching(workspace.folder, member, self.party, self.domain, self.steps, self._params)

    # -- plumbing --
    @property
    def address(self) -> Address:
        """This party's chain address."""
        return self.party.address

    def outcomes(self) -> dict[int, PartyOutcome]:
        """The runs this party completed in this process, by job id, of the jobs not final yet."""
        return self.vouching.outcomes()

    def holding(self) -> set[int]:
        """The jobs this runner holds anything for: checked data, a run (in memory or kept on disk), a bundle."""
        return self.consenting.holding() | self.vouching.holding()

    def party_routes(self) -> APIRouter:
        """This party's identity (with the jobs it is ready for) and parameter-document routes, to mount."""
        return party_router(self.party.identity, self._ready_jobs, self._params_document)

    def close(self) -> None:
        """Stop serving (if the runner runs its own server) and close connections."""
        self._stop_serving()
        self.peers.close()
        self.audit.close()

    def _ready_jobs(self) -> set[int]:
        with self._lock:
            return set(self._mailboxes)

    def _params_document(self, digest: bytes) -> bytes | None:
        path = self.workspace.folder / "params" / f"{digest.hex()}.json"
        return path.read_bytes() if path.is_file() else None

    def _published(self, address: Address) -> tuple[bytes, str]:
        member = self.member.consortium.member(address)
        return member.transport_key, member.endpoint

    def publish(self) -> None:
        """Publish this party's transport key and endpoint on chain (if they changed)."""
        key, endpoint = self._published(self.address)
        if key != self.party.identity.transport_key or endpoint != self.url:
            self.member.consortium.set_endpoint(self.party.identity.transport_key, self.url)

    # -- the loop --
    def run(
        self, stop: threading.Event, poll: float = 0.3, only: int | None = None, grace: float | None = None
    ) -> None:
        """Follow the chain until `stop` is set (or, with `only`, until that job is final for this party).

        A node that does not answer is retried with a capped backoff, for as long as it takes. Once stopped,
        each job's current step gets `grace` seconds to end (None: as long as a protocol may take); a step
        still running then is abandoned and reported (`abandoned`): its process is about to exit, and a
        restarted runner takes the step up where the chain says the job stands (a transaction handed to the
        node before the exit is mined all the same; one not handed over is sent again).
        """
        workers = JobWorkers(self._advance, self._step_failed, stop, idle=max(poll, IDLE))
        follower = ChainFollower(
            self.member.jobs,
            self.member.head_block,
            self._involves,
            workers,
            lambda stage, detail: self.steps.progress(-1, stage, detail),
        )
        try:
            follower.run(stop, self._start, poll, only)
        finally:
            stop.set()
            for job_id in workers.join(timeout=self.protocol_timeout + 30 if grace is None else grace):
                self.steps.progress(
                    job_id, "abandoned", "the runner stopped mid-step; on restart it resumes from the chain"
                )

    def _start(self) -> None:
        """What the runner does once the node answers: publish its endpoint, anchor what a past run left."""
        self.publish()
        self.audit.anchor_pending(lambda job_id: self.member.jobs.job(job_id).status in FINAL)

    def _step_failed(self, job_id: int, exc: Exception, failures: int) -> None:
        if failures == 1:  # once per streak: a node away for a minute is one line, not hundreds
            stage = "node-unreachable" if isinstance(exc, LedgerError) else "step-failed"
            self.steps.progress(job_id, stage, f"{type(exc).__name__}: {exc}; retrying with backoff")
        if isinstance(exc, LedgerError):  # nobody could commit meanwhile: the wait for the commit starts over
            self.commit_wait.node_away(job_id)

    def _involves(self, job_id: int) -> bool:
        view = self._view(job_id)
        return self.address == view.job.requester or self.address in view.owners or self.address in view.compute

    def _view(self, job_id: int) -> JobView:
        jobs = self.member.jobs
        source_ids, versions, owners, _ = jobs.job_sources(job_id)
        compute, _, attesters = jobs.job_parties(job_id)
        return JobView(jobs.job(job_id), source_ids, versions, owners, tuple(compute), tuple(attesters))

    def _advance(self, job_id: int) -> float | None:
        """Move job `job_id` one step; seconds until its next time-based step, or None once it is done here."""
        view = self._view(job_id)
        job, me = view.job, self.address
        if job.status in FINAL:
            if job.status == JobStatus.FINALIZED:
                self.vouching.save_result(
                    job_id, view, self._checked_bundle
                )  # committed and final between two looks: keep the bundle all the same
            self._release(job_id)
            self.audit.close_job(job_id)
            self._forget(job_id)
            return None
        if me != job.requester and me not in view.owners and me not in view.compute:
            return None
        # A quiet chain seals no blocks, so its head time stands still; the next block will carry
        # the wall-clock time (the embedded node keeps timestamps honest), so judge by the later.
        now = max(self.member.latest_timestamp(), int(time.time()))
        if self.settling.past_deadline(job_id, view, now):
            return IDLE
        if job_id in self.steps.aborting and job.status in (JobStatus.OPEN, JobStatus.READY):
            # Decided before the node went away: send it again, nothing else. (Once committed, an abort
            # can only revert: the commit won the race, and this party goes on to sign or dispute it.)
            self.steps.abort(job_id, self.steps.aborting[job_id])
            return due(now, job.deadline + 1)
        if job.status == JobStatus.OPEN:
            self._ensure_mailbox(job_id, view)
            self.consenting.consent_all(job_id, view, self._params)
            return due(now, job.deadline + 1)
        if job.status == JobStatus.READY:
            self._run_protocol(job_id, view)
            return min(due(now, job.deadline + 1), self._await_commit(job_id))
        self.commit_wait.forget(job_id)
        if job.status == JobStatus.COMMITTED:
            self.vouching.save_result(job_id, view, self._checked_bundle)
            self._attest(job_id, view)
            return self.settling.committed(job_id, view, now)
        if job.status == JobStatus.DISPUTED:
            return self.settling.disputed(job_id, now)
        return IDLE

    def _forget(self, job_id: int) -> None:
        """Let go of everything held about a final job: snapshots, run, bundle, steps sent, its kept run on disk."""
        self.consenting.forget(job_id)
        self.commit_wait.forget(job_id)
        self.steps.forget(job_id)
        self.vouching.forget(job_id)

    # -- protocol --
    def _plan(self, job_id: int, view: JobView, data: JobData) -> tuple[JobKind, Plan]:
        document = self._params(job_id, view)
        kind = kind_of(document, view.job.kind)
        plan = kind.plan(document, self.address, dict(zip(view.source_ids, view.owners)), view.compute, data)
        if tuple(view.source_ids) != plan.source_ids:
            raise InvalidInput(f"job {job_id}: parameters name sources {plan.source_ids}, the job {view.source_ids}")
        return kind, plan

    def _params(self, job_id: int, view: JobView) -> dict[str, Any]:
        digest = view.job.params_hash
        local = self._params_document(digest)
        if local is not None:
            return self.workspace.get_params(digest)
        return self.peers.params(view.job.requester, digest, self.protocol_timeout)

    def _is_protocol_party(self, view: JobView) -> bool:
        return self.address in view.owners or self.address in view.compute

    def _ensure_mailbox(self, job_id: int, view: JobView) -> None:
        if not self._is_protocol_party(view):
            return
        with self._lock:
            if job_id not in self._mailboxes:
                self._mailboxes[job_id] = Mailbox()
                self._endpoint.register(
                    job_id, self.address, self._mailboxes[job_id], roster=(*view.owners, *view.compute)
                )

    def _release(self, job_id: int) -> None:
        with self._lock:
            if self._mailboxes.pop(job_id, None) is not None:
                self._endpoint.unregister(job_id, self.address)

    def _run_protocol(self, job_id: int, view: JobView) -> None:
        if (job_id, "abort") in self.steps.handled or not self._is_protocol_party(view):
            return
        if self.vouching.has_run(
            job_id
        ):  # run, but the commit did not get through (node away, runner restarted): again
            if self.address == view.compute[0]:
                self._commit(job_id, view)
            return
        self._ensure_mailbox(job_id, view)
        try:
            kind, plan = self._plan(job_id, view, self.consenting.data_for_run(job_id, view))
            if plan.role is None:
                self.steps.handled.add((job_id, "abort"))  # not on this job's roster: nothing to run, ever
                return
            self.consenting.record_access(job_id, view, plan.protocol)
            role, roster = plan.role, list(plan.roster)
            self.peers.wait_ready([a for a in roster if a != self.address], job_id, self.protocol_timeout)
            identities = {a: (self.party.identity if a == self.address else self.peers.identity(a)[0]) for a in roster}
            endpoints = {a: self.url if a == self.address else self.peers.identity(a)[1] for a in roster}
            self.steps.progress(job_id, "protocol", f"running {plan.protocol} with {len(roster)} parties")
            transport = HttpTransport(endpoints, timeout=self.protocol_timeout)
            try:
                channel = Channel(
                    self.party,
                    Job(job_id, plan.protocol, identities, self.protocol_timeout),
                    transport,
                    self._mailboxes[job_id],
                )
                channel.on_round = lambda report: self.steps.progress(job_id, "round", report.detail())
                outcome = run_role(channel, role)
            finally:
                transport.close()
        except ComputeError as exc:
            code = str(exc) if str(exc).startswith("DATA_MISMATCH") else f"PROTOCOL {type(exc).__name__}"
            code = exc.reason if isinstance(exc, KindMismatch) else code
            self.steps.progress(job_id, "protocol-failed", str(exc))
            self.steps.abort(job_id, code)
            return
        self.vouching.record(job_id, outcome, kind, plan)
        if outcome.result_hash is None:
            self.steps.abort(job_id, "PROTOCOL no result")
            return
        self.vouching.keep(job_id, view, self._checked_bundle)
        self.steps.progress(job_id, "protocol-done", f"result 0x{outcome.result_hash.hex()[:12]}…")
        if self.address == view.compute[0]:
            self._commit(job_id, view)

    def _await_commit(self, job_id: int) -> float:
        """Abort a Ready job whose run this party finished if no commit came in time; seconds until it is due."""
        if not self.vouching.has_run(job_id) or job_id in self.steps.aborting:
            return IDLE  # still running (or never will), or aborted already
        left = self.commit_wait.left(job_id)
        if left > 0:
            return left
        self.steps.progress(job_id, "commit-timeout", f"no commit {self.protocol_timeout:.0f} s after the run")
        self.steps.abort(job_id, NO_COMMIT)
        return IDLE

    # -- what this party vouches for (compute/jobs/vouching.py); these three are the seams a test double overrides --
    def _checked_bundle(self, job_id: int, view: JobView) -> tuple[dict[str, Any] | None, list[str]]:
        """This party's bundle of its own run, re-derived and checked (see `Vouching.checked_bundle`)."""
        return self.vouching.checked_bundle(job_id, view)

    def _commit(self, job_id: int, view: JobView) -> None:
        self.vouching.commit(job_id, view, self._checked_bundle)

    def _attest(self, job_id: int, view: JobView) -> None:
        self.vouching.attest(job_id, view, self._checked_bundle)
