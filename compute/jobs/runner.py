"""The job runner: one party that follows the chain's job events and plays its part in every job.

On start-up one ranged scan of the job events finds the jobs that are not final and involve
this party; from then on only new events are read (one `eth_getLogs` per new block range). Each
live job has its own worker thread (compute/jobs/following.py), woken by the events about it or
when its next deadline or window is due, and each step re-reads the job on chain first, so a
restarted runner picks every job up where the chain says it stands. A node that goes away is
waited for with a capped backoff. A worker moves its job on:
- a provider checks its file still matches the commitment the job recorded, then
  consents (or aborts the job, naming the mismatch);
- once the job is Ready, every protocol party runs its role over HTTP, and the first
  compute party commits the result, transcript root and contribution weights;
- every attester checks the committed hashes against its own run and signs its EIP-712
  attestation, or disputes with the hash of what it saw instead;
- the requester finalises after the challenge window, or cancels past the deadline.
A protocol failure aborts the job on chain with a short reason code, so the escrow goes
back and the audit trail says why. Nothing is released before the job is final. The result
bundle is saved at commit; this party's data-access and failure records are anchored on chain
when the job ends (compute/jobs/job_audit.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter

from compute.channel import Channel, Job
from compute.errors import ComputeError, InvalidInput, PartyUnreachable
from compute.jobs.following import ChainFollower, JobWorkers
from compute.jobs.job_audit import JobAudit
from compute.jobs.kinds import JobKind, KindMismatch, Plan, kind_of, verified_bundle
from compute.jobs.peers import PeerDirectory, party_router
from compute.jobs.privacy_check import PrivacyRefused, attested_privacy_hash, spend_to_report
from compute.jobs.service.consent import check_source, consent_check
from compute.jobs.service.results import ResultStore
from compute.jobs.snapshot import DataSnapshot, JobData
from compute.jobs.workspace import Workspace
from compute.party import Address, Party
from compute.result import hash_result
from compute.session import PartyOutcome, run_role
from compute.transport import HttpTransport, Mailbox, MessageEndpoint, serve_endpoint
from ledger.bindings import JobStatus
from ledger.errors import ContractRevert, LedgerError
from ledger.member import MemberLedger
from ledger.protocol import Attestation, AttestationDomain, inputs_hash

FINAL = {JobStatus.FINALIZED, JobStatus.REFUNDED, JobStatus.CANCELLED, JobStatus.ABORTED}


def reason_code(text: str) -> bytes:
    """A short ASCII reason as the bytes32 the contract records (readable in the audit trail)."""
    return text.encode("ascii", "replace")[:32].ljust(32, b"\x00")


IDLE = 5.0  # seconds between looks at a job with nothing due (events wake it sooner)


def _due(now: int, *times: int) -> float:
    """Seconds until the earliest of `times` still ahead of `now` (chain seconds), IDLE if none is."""
    ahead = [t - now for t in times if t >= now]
    return float(min(ahead) + 1) if ahead else IDLE


@dataclass(frozen=True)
class Progress:
    """One step a runner took, for the CLI's progress display and the gateway's event stream."""

    job_id: int
    party: str
    stage: str
    detail: str = ""


@dataclass
class _JobView:
    job: Any
    source_ids: tuple[int, ...]
    versions: tuple[int, ...]
    owners: tuple[str, ...]
    compute: tuple[str, ...]
    attesters: tuple[str, ...]


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
        self._on_progress = on_progress or (lambda event: None)
        self._mailboxes: dict[int, Mailbox] = {}
        self._outcomes: dict[int, PartyOutcome] = {}
        self._kinds: dict[int, JobKind] = {}
        self._checked: dict[tuple[int, int], DataSnapshot] = {}  # (job, source): the bytes consent checked
        self._plans: dict[int, Plan] = {}
        self._bundles: dict[int, dict[str, Any]] = {}  # job id → this party's checked result bundle
        self._handled: set[tuple[int, str]] = set()
        self._aborting: dict[int, str] = {}  # job -> the reason this party decided to abort it with
        self._lock = threading.Lock()
        self._progress_lock = threading.Lock()  # workers report from their own threads
        self.results = ResultStore(workspace.folder)
        self.audit = JobAudit(workspace.folder, member.anchor.job_sink, workspace.name)
        self._stop_serving: Callable[[], None] = lambda: None
        if endpoint is None:
            self._endpoint = MessageEndpoint()
            server = serve_endpoint(self._endpoint, host, port, extra=[self.party_routes()])
            self._stop_serving, self.url = server.stop, public_url or server.url
        elif public_url is None:
            raise ValueError("a runner on a host's endpoint needs the public_url its peers reach it at")
        else:
            self._endpoint, self.url = endpoint, public_url
        self.peers = PeerDirectory(self._published)
        self.domain = AttestationDomain(member.deployment.chain_id, member.jobs.address)

    # -- plumbing --
    @property
    def address(self) -> Address:
        """This party's chain address."""
        return self.party.address

    def outcomes(self) -> dict[int, PartyOutcome]:
        """The runs this party completed, by job id."""
        return dict(self._outcomes)

    def party_routes(self) -> APIRouter:
        """This party's identity (with the jobs it is ready for) and parameter-document routes, to mount."""
        return party_router(self.party.identity, self._ready_jobs, self._params_document)

    def close(self) -> None:
        """Stop serving (if the runner runs its own server) and close connections."""
        self._stop_serving()
        self.peers.close()
        self.audit.close()

    def _progress(self, job_id: int, stage: str, detail: str = "") -> None:
        with self._progress_lock:
            self._on_progress(Progress(job_id, self.workspace.name, stage, detail))

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
    def run(self, stop: threading.Event, poll: float = 0.3, only: int | None = None) -> None:
        """Follow the chain until `stop` is set (or, with `only`, until that job is final for this party).

        A node that does not answer is retried with a capped backoff, for as long as it takes.
        """
        workers = JobWorkers(self._advance, self._step_failed, stop, idle=max(poll, IDLE))
        follower = ChainFollower(
            self.member.jobs,
            self.member.head_block,
            self._involves,
            workers,
            lambda stage, detail: self._progress(-1, stage, detail),
        )
        try:
            follower.run(stop, self._start, poll, only)
        finally:
            stop.set()
            workers.join(timeout=self.protocol_timeout + 30)

    def _start(self) -> None:
        """What the runner does once the node answers: publish its endpoint, anchor what a past run left."""
        self.publish()
        self.audit.anchor_pending(lambda job_id: self.member.jobs.job(job_id).status in FINAL)

    def _step_failed(self, job_id: int, exc: Exception, failures: int) -> None:
        if failures == 1:  # once per streak: a node away for a minute is one line, not hundreds
            stage = "node-unreachable" if isinstance(exc, LedgerError) else "step-failed"
            self._progress(job_id, stage, f"{type(exc).__name__}: {exc}; retrying with backoff")

    def _involves(self, job_id: int) -> bool:
        view = self._view(job_id)
        return self.address == view.job.requester or self.address in view.owners or self.address in view.compute

    def _view(self, job_id: int) -> _JobView:
        jobs = self.member.jobs
        source_ids, versions, owners, _ = jobs.job_sources(job_id)
        compute, _, attesters = jobs.job_parties(job_id)
        return _JobView(jobs.job(job_id), source_ids, versions, owners, tuple(compute), tuple(attesters))

    def _advance(self, job_id: int) -> float | None:
        """Move job `job_id` one step; seconds until its next time-based step, or None once it is done here."""
        view = self._view(job_id)
        job, me = view.job, self.address
        if job.status in FINAL:
            if job.status == JobStatus.FINALIZED:
                self._save_result(job_id, view)  # committed and final between two looks: keep the bundle all the same
            self._release(job_id)
            self.audit.close_job(job_id)
            return None
        if me != job.requester and me not in view.owners and me not in view.compute:
            return None
        # A quiet chain seals no blocks, so its head time stands still; the next block will carry
        # the wall-clock time (the embedded node keeps timestamps honest), so judge by the later.
        now = max(self.member.latest_timestamp(), int(time.time()))
        if job.status in (JobStatus.OPEN, JobStatus.READY) and now > job.deadline:
            if me == job.requester:
                self._once(job_id, "cancel", lambda: self.member.jobs.cancel(job_id), "past the deadline: cancelled")
            return IDLE
        if job_id in self._aborting:  # decided before the node went away: send it again, nothing else
            self._abort(job_id, self._aborting[job_id])
            return _due(now, job.deadline + 1)
        if job.status == JobStatus.OPEN:
            self._consent_all(job_id, view)
            return _due(now, job.deadline + 1)
        if job.status == JobStatus.READY:
            self._run_protocol(job_id, view)
            return _due(now, job.deadline + 1)
        terms = self.member.jobs.job_terms(job_id)
        if job.status == JobStatus.COMMITTED:
            self._save_result(job_id, view)
            self._attest(job_id, view)
            if me == job.requester:
                self._maybe_finalize(job_id, view, now, terms.challenge_window)
            if job.attestations < len(view.attesters) and now >= job.committed_at + terms.attestation_window:
                # Someone is silent after commit: send the job to resolution so the escrow cannot stay locked.
                self._once(job_id, "escalate", lambda: self.member.jobs.escalate(job_id), "attestations missing")
            windows = (job.committed_at + terms.challenge_window, job.committed_at + terms.attestation_window)
            return _due(now, *windows)
        if job.status == JobStatus.DISPUTED:
            if now >= terms.disputed_at + terms.resolution_window:
                self._once(
                    job_id,
                    "settle-unresolved",
                    lambda: self.member.jobs.settle_unresolved(job_id),
                    "governance did not resolve in time: the default applied",
                )
            return _due(now, terms.disputed_at + terms.resolution_window)
        return IDLE

    def _save_result(self, job_id: int, view: _JobView) -> None:
        """Write this party's checked bundle of a committed job (once), so it is served while the runner runs on."""
        outcome = self._outcomes.get(job_id)
        if outcome is None or (job_id, "result-saved") in self._handled:
            return
        if job_id not in self._bundles:
            self._checked_bundle(job_id, view)
        self._handled.add((job_id, "result-saved"))  # a bundle that does not check is not re-derived every look
        bundle = self.result_bundle(job_id)
        if bundle is None:
            return  # a run this party cannot vouch for: `_attest` says why and does not sign
        private = (
            outcome.value if bundle["result"] is None and isinstance(outcome.value, (list, int, float, str)) else None
        )
        self._progress(job_id, "result-saved", str(self.results.save(job_id, bundle, private)))

    def _once(self, job_id: int, what: str, action: Callable[[], Any], detail: str) -> None:
        """Send one on-chain step once; `what` is the step ("consent:3" names the source too)."""
        stage = what.split(":")[0]
        if (job_id, what) in self._handled:
            return
        try:
            action()
        except ContractRevert as exc:  # another party got there first, or the state moved on
            self._progress(job_id, stage + "-skipped", type(exc).__name__)
            return
        self._handled.add((job_id, what))
        self._progress(job_id, stage, detail)

    def _abort(self, job_id: int, reason: str) -> None:
        """Abort the job on chain; the decision is kept (and recorded for audit) so a failed send is retried."""
        if job_id not in self._aborting:
            self._aborting[job_id] = reason
            self.audit.add(job_id, "failure", reason=reason)
        self._once(job_id, "abort", lambda: self.member.jobs.abort(job_id, reason_code(reason)), reason)

    # -- providers --
    def _data_matches(self, job_id: int, source_id: int, version: int) -> DataSnapshot | None:
        """The source's file read once and checked against commitment `version`; None (and why) if it does not match."""
        source = self.workspace.sources.get(source_id)
        if source is None:
            self._progress(job_id, "data-mismatch", f"source {source_id}: this workspace holds no data for it")
            return None
        try:
            return check_source(self.member, source, version)
        except InvalidInput as exc:
            self._progress(job_id, "data-mismatch", str(exc))
            return None

    def _consent_all(self, job_id: int, view: _JobView) -> None:
        self._ensure_mailbox(job_id, view)
        for source_id, version, owner in zip(view.source_ids, view.versions, view.owners):
            if owner != self.address or self.member.jobs.has_consented(job_id, source_id):
                continue
            source = self.workspace.sources.get(source_id)
            if source is not None and not source.runner_consents:
                if (job_id, f"await-{source_id}") not in self._handled:
                    self._handled.add((job_id, f"await-{source_id}"))
                    self._progress(job_id, "awaiting-consent", f"source {source_id}: `custos job consent {job_id}`")
                continue
            if source is None:
                self._progress(job_id, "data-mismatch", f"source {source_id}: this workspace holds no data for it")
                self._abort(job_id, f"DATA_MISMATCH source {source_id}")
                return
            # The one consent check: the data, then the privacy reservation (issue 20) against the accountant.
            document = lambda: self._params(job_id, view)  # noqa: E731  # loaded only for DP jobs
            try:
                snapshot = consent_check(self.member, source, version, job_id, document)
            except PartyUnreachable as exc:  # the requester serves its document once it is up: next round
                self._progress(job_id, "awaiting-parameters", str(exc))
                return
            except PrivacyRefused as exc:
                self._abort(job_id, str(exc))
                return
            except InvalidInput as exc:
                self._progress(job_id, "data-mismatch", str(exc))
                self._abort(job_id, f"DATA_MISMATCH source {source_id}")
                return
            self._checked[(job_id, source_id)] = snapshot  # the protocol reads these bytes, not the file again
            self._once(
                job_id,
                f"consent:{source_id}",
                lambda s=source_id: self.member.jobs.consent(job_id, s),  # type: ignore[misc]  # default binds the loop value
                f"source {source_id} v{version}: data matches its commitment",
            )

    # -- protocol --
    def _plan(self, job_id: int, view: _JobView, data: JobData) -> tuple[JobKind, Plan]:
        document = self._params(job_id, view)
        kind = kind_of(document, view.job.kind)
        plan = kind.plan(document, self.address, dict(zip(view.source_ids, view.owners)), view.compute, data)
        if tuple(view.source_ids) != plan.source_ids:
            raise InvalidInput(f"job {job_id}: parameters name sources {plan.source_ids}, the job {view.source_ids}")
        return kind, plan

    def _params(self, job_id: int, view: _JobView) -> dict[str, Any]:
        digest = view.job.params_hash
        local = self._params_document(digest)
        if local is not None:
            return self.workspace.get_params(digest)
        return self.peers.params(view.job.requester, digest, self.protocol_timeout)

    def _is_protocol_party(self, view: _JobView) -> bool:
        return self.address in view.owners or self.address in view.compute

    def _ensure_mailbox(self, job_id: int, view: _JobView) -> None:
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

    def _check_data(self, job_id: int, view: _JobView) -> JobData:
        """This party's data for the run: the snapshots its consent checked, else each file read and checked now.

        Either way the protocol reads checked bytes only: a file edited after this runner consented is
        not read again, and one edited after a consent given elsewhere fails the check here (the job aborts).
        """
        snapshots = {}
        for source_id, version, owner in zip(view.source_ids, view.versions, view.owners):
            if owner != self.address:
                continue
            snapshot = self._checked.pop((job_id, source_id), None) or self._data_matches(job_id, source_id, version)
            if snapshot is None:
                raise InvalidInput(f"DATA_MISMATCH source {source_id}")
            snapshots[source_id] = snapshot
        return JobData(snapshots, self.workspace.folder)

    def _run_protocol(self, job_id: int, view: _JobView) -> None:
        if (job_id, "abort") in self._handled or not self._is_protocol_party(view):
            return
        if job_id in self._outcomes:  # run, but the commit did not get through (the node was away): again
            if self.address == view.compute[0]:
                self._commit(job_id, view)
            return
        self._ensure_mailbox(job_id, view)
        try:
            kind, plan = self._plan(job_id, view, self._check_data(job_id, view))
            if plan.role is None:
                self._handled.add((job_id, "abort"))  # not on this job's roster: nothing to run, ever
                return
            self._record_data_access(job_id, view, plan.protocol)
            role, roster = plan.role, list(plan.roster)
            self.peers.wait_ready([a for a in roster if a != self.address], job_id, self.protocol_timeout)
            identities = {a: (self.party.identity if a == self.address else self.peers.identity(a)[0]) for a in roster}
            endpoints = {a: self.url if a == self.address else self.peers.identity(a)[1] for a in roster}
            self._progress(job_id, "protocol", f"running {plan.protocol} with {len(roster)} parties")
            transport = HttpTransport(endpoints, timeout=self.protocol_timeout)
            try:
                channel = Channel(
                    self.party,
                    Job(job_id, plan.protocol, identities, self.protocol_timeout),
                    transport,
                    self._mailboxes[job_id],
                )
                channel.on_round = lambda report: self._progress(job_id, "round", report.detail())
                outcome = run_role(channel, role)
            finally:
                transport.close()
        except ComputeError as exc:
            code = str(exc) if str(exc).startswith("DATA_MISMATCH") else f"PROTOCOL {type(exc).__name__}"
            code = exc.reason if isinstance(exc, KindMismatch) else code
            self._progress(job_id, "protocol-failed", str(exc))
            self._abort(job_id, code)
            return
        self._outcomes[job_id] = outcome
        self._kinds[job_id] = kind
        self._plans[job_id] = plan
        if outcome.result_hash is None:
            self._abort(job_id, "PROTOCOL no result")
            return
        self._progress(job_id, "protocol-done", f"result 0x{outcome.result_hash.hex()[:12]}…")
        if self.address == view.compute[0]:
            self._commit(job_id, view)

    def _record_data_access(self, job_id: int, view: _JobView, protocol: str) -> None:
        """An audit record for each of this party's sources the protocol is about to read."""
        for source_id, version, owner in zip(view.source_ids, view.versions, view.owners):
            if owner == self.address:
                recorded = self.member.registry.commitment_at(source_id, version)
                self.audit.add(
                    job_id,
                    "data-access",
                    source_id=source_id,
                    version=version,
                    commitment="0x" + recorded.commitment.hex(),
                    rows=recorded.row_count,
                    protocol=protocol,
                )

    def result_bundle(self, job_id: int) -> dict[str, Any] | None:
        """This party's checked result bundle of `job_id` (hashes and numbers only), once it has one."""
        return self._bundles.get(job_id)

    def _checked_bundle(self, job_id: int, view: _JobView) -> tuple[dict[str, Any] | None, list[str]]:
        """This party's bundle of its own run, re-derived and checked (see `kinds.verified_bundle`)."""
        outcome = self._outcomes.get(job_id)
        if outcome is None:
            return None, ["this party did not take part in the run"]
        bundle, problems = verified_bundle(self._kinds[job_id], self._plans[job_id], job_id, outcome, view.owners)
        if bundle is not None and not problems:
            self._bundles[job_id] = bundle
        return bundle, problems

    def _commit(self, job_id: int, view: _JobView) -> None:
        """Commit the run's hashes and weights, but only those this party re-derived from the table and leaves."""
        bundle, problems = self._checked_bundle(job_id, view)
        if bundle is None or problems:
            self._progress(job_id, "commit-refused", "; ".join(problems))
            self._abort(job_id, "WEIGHTS_UNVERIFIED")
            return
        result_hash, root = bytes.fromhex(bundle["result_hash"][2:]), bytes.fromhex(bundle["transcript_root"][2:])
        weights, table_hash = bundle["weights"], bytes.fromhex(bundle["utility_table_hash"][2:])
        # Privacy budget (issue 20): a DP job reports the accountant's ε per source.
        document = lambda: self._params(job_id, view)  # noqa: E731  # loaded only for DP jobs
        spent = spend_to_report(self.member.privacy, job_id, view.job.kind, document, len(view.source_ids))
        self._once(
            job_id,
            "commit",
            lambda: self.member.jobs.commit_result(
                job_id, result_hash, root, weights, table_hash, epsilons_spent=spent
            ),
            f"weights {weights}" + ("" if spent is None else f", micro-epsilon spent {spent}"),
        )

    # -- attestation and settlement --
    def _attest(self, job_id: int, view: _JobView) -> None:
        """Sign the committed job only if every hash it commits is one this party re-derived from its own run.

        A run whose own bundle does not check (weights that do not follow from the table: a
        guest's bad arithmetic, committed by an unchecking compute party) is not signed, so the
        job takes the liveness path; a commit that differs from this party's checked run is disputed.
        """
        job, me = view.job, self.address
        if me not in view.attesters or {(job_id, "attest"), (job_id, "attest-refused")} & self._handled:
            return  # signed, or refused once and for all
        if job_id not in self._outcomes or self.member.jobs.has_attested(job_id, me):
            return  # not a run we took part in (nothing to vouch for), or signed already
        bundle, problems = self._checked_bundle(job_id, view)
        recorded = [self.member.registry.commitment_at(s, v).commitment for s, v in zip(view.source_ids, view.versions)]
        if inputs_hash(view.source_ids, view.versions, recorded) != job.inputs_hash:
            problems = [*problems, "inputsHash is not the hash of the sources' recorded commitments"]
        if bundle is None or problems:
            self._handled.add((job_id, "attest-refused"))
            self._progress(job_id, "attest-refused", "; ".join(problems))
            return
        committed = ["0x" + h.hex() for h in (job.result_hash, job.transcript_root, job.contribution_hash)]
        # Privacy budget (issue 20): the committed ε must be exactly the accountant's, or nothing is signed.
        document = lambda: self._params(job_id, view)  # noqa: E731  # loaded only for DP jobs
        privacy = attested_privacy_hash(self.member.privacy, job_id, job.kind, document, len(view.source_ids))
        if [
            bundle["result_hash"],
            bundle["transcript_root"],
            bundle["contribution_hash"],
        ] != committed or privacy is None:
            evidence = hash_result({k: bundle[k] for k in ("result_hash", "transcript_root", "contribution_hash")})
            self._once(
                job_id,
                "dispute",
                lambda: self.member.jobs.dispute(job_id, evidence),
                "the committed result is not the one this party computed",
            )
            return
        assert privacy is not None  # a None spend is a mismatch: disputed above, never signed
        attestation = Attestation(
            job_id, job.inputs_hash, job.result_hash, job.transcript_root, job.contribution_hash, privacy
        )
        signature = attestation.sign(self.party.chain_key, self.domain)
        self._once(
            job_id, "attest", lambda: self.member.jobs.attest(job_id, me, signature), "signed EIP-712 attestation"
        )

    def _maybe_finalize(self, job_id: int, view: _JobView, now: int, challenge_window: int) -> None:
        job = view.job
        if job.attestations < len(view.attesters) or now < job.committed_at + challenge_window:
            return
        self._once(job_id, "finalize", lambda: self.member.jobs.finalize(job_id), "escrow split and credited")
