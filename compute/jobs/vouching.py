"""What a party vouches for: its own runs, checked, kept, committed, signed and saved.

A run is re-derived and checked before anything is done with it (`kinds.verified_bundle`: the
weights from the utility table with the documented rule, the transcript root from its leaves,
the result hash); only a run that checks is kept on disk (compute/jobs/checked_runs.py), so a
restart loses nothing. The first compute party commits only what it re-derived; every attester
signs only a commit equal to its own checked run (its privacy spend included), disputes one that
differs, and refuses, once and for all, a run of its own that does not check (the job then takes
the liveness path). The result bundle is saved at commit (compute/jobs/service/results.py).

Each step takes the `checked` function that yields the party's checked bundle, so a runner (or a
test double standing in for another organisation's software) decides what "checked" means.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from compute.jobs.checked_runs import CheckedRuns
from compute.jobs.job_steps import JobView, Params, StepLog
from compute.jobs.kinds import JobKind, Plan, verified_bundle
from compute.jobs.privacy_check import attested_privacy_hash, spend_to_report
from compute.jobs.service.results import ResultStore
from compute.party import Party
from compute.result import hash_result
from compute.session import PartyOutcome
from ledger.member import MemberLedger
from ledger.protocol import Attestation, AttestationDomain, inputs_hash

CheckedBundle = Callable[[int, JobView], tuple[dict[str, Any] | None, list[str]]]  # job -> bundle, problems


class Vouching:
    """One party's runs of its jobs and the commits, signatures and bundles that follow from them."""

    def __init__(
        self,
        folder: Path,
        member: MemberLedger,
        party: Party,
        domain: AttestationDomain,
        steps: StepLog,
        params: Params,
    ) -> None:
        self.member, self.party, self.domain, self.steps, self._params = member, party, domain, steps, params
        self.results = ResultStore(folder)
        self.runs = CheckedRuns(folder)
        self._outcomes: dict[int, PartyOutcome] = {}
        self._kinds: dict[int, JobKind] = {}
        self._plans: dict[int, Plan] = {}
        self._bundles: dict[int, dict[str, Any]] = {}  # job id → this party's checked result bundle
        self._private: dict[int, Any] = {}  # job id → this party's private output of a run read back from disk

    def record(self, job_id: int, outcome: PartyOutcome, kind: JobKind, plan: Plan) -> None:
        """Remember this party's finished run of `job_id` (checked when it is used)."""
        self._outcomes[job_id], self._kinds[job_id], self._plans[job_id] = outcome, kind, plan

    def outcomes(self) -> dict[int, PartyOutcome]:
        """The runs this party completed in this process, by job id, of the jobs not final yet."""
        return dict(self._outcomes)

    def holding(self) -> set[int]:
        """The jobs this party holds a run of (in memory or kept on disk) or a checked bundle."""
        kept = {int(p.stem) for p in self.runs.folder.glob("*.json")} if self.runs.folder.is_dir() else set()
        return set(self._outcomes) | set(self._bundles) | kept

    def forget(self, job_id: int) -> None:
        """Let go of the run of a final job, in memory and on disk (its result bundle stays in `results/`)."""
        for held in (self._outcomes, self._kinds, self._plans, self._bundles, self._private):
            held.pop(job_id, None)
        self.runs.discard(job_id)

    def has_run(self, job_id: int) -> bool:
        """Whether this party ran the job's protocol to its end (in this process, or before a restart)."""
        return job_id in self._outcomes or job_id in self._bundles or self.runs.path(job_id).is_file()

    def private_output(self, job_id: int, bundle: dict[str, Any]) -> Any:
        """This party's own output of its run when the bundle publishes none (a PSI intersection), else None."""
        outcome = self._outcomes.get(job_id)
        if outcome is None:
            return self._private.get(job_id)
        value = outcome.value
        return value if bundle["result"] is None and isinstance(value, (list, int, float, str)) else None

    def result_bundle(self, job_id: int) -> dict[str, Any] | None:
        """This party's checked result bundle of `job_id` (hashes and numbers only), once it has one."""
        return self._bundles.get(job_id)

    def checked_bundle(self, job_id: int, view: JobView) -> tuple[dict[str, Any] | None, list[str]]:
        """This party's bundle of its own run, re-derived and checked (see `kinds.verified_bundle`).

        After a restart, the run kept on disk, checked again (its hashes and weights re-derived from its
        table and leaves); the rule's inputs were checked before it was kept.
        """
        outcome = self._outcomes.get(job_id)
        if outcome is None:
            kept = self.runs.load(job_id)
            if kept is None:
                return None, ["this party did not take part in the run"]
            if not kept.problems:
                self._bundles[job_id], self._private[job_id] = kept.bundle, kept.private_output
            return kept.bundle, list(kept.problems)
        bundle, problems = verified_bundle(self._kinds[job_id], self._plans[job_id], job_id, outcome, view.owners)
        if bundle is not None and not problems:
            self._bundles[job_id] = bundle
        return bundle, problems

    def keep(self, job_id: int, view: JobView, checked: CheckedBundle) -> None:
        """Keep the run on disk if it checks, so a restart before commit or attestation loses nothing."""
        bundle, problems = checked(job_id, view)
        if bundle is not None and not problems:
            self.runs.save(job_id, bundle, self.private_output(job_id, bundle))

    def save_result(self, job_id: int, view: JobView, checked: CheckedBundle) -> None:
        """Write this party's checked bundle of a committed job (once), so it is served while the runner runs on."""
        if not self.has_run(job_id) or (job_id, "result-saved") in self.steps.handled:
            return
        if job_id not in self._bundles:
            checked(job_id, view)
        self.steps.handled.add((job_id, "result-saved"))  # a bundle that does not check is not re-derived every look
        bundle = self.result_bundle(job_id)
        if bundle is None:
            return  # a run this party cannot vouch for: `attest` says why and does not sign
        private = self.private_output(job_id, bundle)
        self.steps.progress(job_id, "result-saved", str(self.results.save(job_id, bundle, private)))

    def commit(self, job_id: int, view: JobView, checked: CheckedBundle) -> None:
        """Commit the run's hashes and weights, but only those this party re-derived from the table and leaves."""
        bundle, problems = checked(job_id, view)
        if bundle is None or problems:
            self.steps.progress(job_id, "commit-refused", "; ".join(problems))
            self.steps.abort(job_id, "WEIGHTS_UNVERIFIED")
            return
        result_hash, root = bytes.fromhex(bundle["result_hash"][2:]), bytes.fromhex(bundle["transcript_root"][2:])
        weights, table_hash = bundle["weights"], bytes.fromhex(bundle["utility_table_hash"][2:])
        # Privacy budget (issue 20): a DP job reports the accountant's ε per source.
        document = lambda: self._params(job_id, view)  # noqa: E731  # loaded only for DP jobs
        spent = spend_to_report(self.member.privacy, job_id, view.job.kind, document, len(view.source_ids))
        self.steps.once(
            job_id,
            "commit",
            lambda: self.member.jobs.commit_result(
                job_id, result_hash, root, weights, table_hash, epsilons_spent=spent
            ),
            f"weights {weights}" + ("" if spent is None else f", micro-epsilon spent {spent}"),
        )

    def attest(self, job_id: int, view: JobView, checked: CheckedBundle) -> None:
        """Sign the committed job only if every hash it commits is one this party re-derived from its own run.

        A run whose own bundle does not check (weights that do not follow from the table: a
        guest's bad arithmetic, committed by an unchecking compute party) is not signed, so the
        job takes the liveness path; a commit that differs from this party's checked run is disputed.
        """
        job, me = view.job, self.party.address
        if me not in view.attesters or {(job_id, "attest"), (job_id, "attest-refused")} & self.steps.handled:
            return  # signed, or refused once and for all
        if not self.has_run(job_id) or self.member.jobs.has_attested(job_id, me):
            return  # not a run we took part in (nothing to vouch for), or signed already
        bundle, problems = checked(job_id, view)
        recorded = [self.member.registry.commitment_at(s, v).commitment for s, v in zip(view.source_ids, view.versions)]
        if inputs_hash(view.source_ids, view.versions, recorded) != job.inputs_hash:
            problems = [*problems, "inputsHash is not the hash of the sources' recorded commitments"]
        if bundle is None or problems:
            self.steps.handled.add((job_id, "attest-refused"))
            self.steps.progress(job_id, "attest-refused", "; ".join(problems))
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
            self.steps.once(
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
        self.steps.once(
            job_id, "attest", lambda: self.member.jobs.attest(job_id, me, signature), "signed EIP-712 attestation"
        )
