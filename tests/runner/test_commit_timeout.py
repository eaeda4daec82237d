"""A committer that is gone after the run: the other parties hold a finished run of a job that stays Ready,
so each gives the commit `protocol_timeout` seconds and then aborts it, named on chain (`PROTOCOL no commit`).
A commit that lands first wins: a party whose abort then reverts signs the committed run as usual."""

from __future__ import annotations

import threading
import time

import pytest

from compute.jobs.job_steps import JobView, reason_code
from compute.jobs.runner import NO_COMMIT, JobRunner
from ledger.bindings import JobStatus
from tests.runner.conftest import Consortium
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(300)
TIMEOUT = 12.0  # the parties' protocol timeout (the commit is given this long after the run): a loaded machine's
# slow PSI step must not end the run itself


class CrashesBeforeCommitting(JobRunner):
    """Test double: a compute node's software that finishes its run and never commits it (it crashes after)."""

    def _commit(self, job_id: int, view: JobView) -> None:
        return


class AbortsAfterTheCommit(JobRunner):
    """Test double: a provider whose commit timeout fires just as the commit lands: it decides to abort once the
    job is committed, so the abort loses the race."""

    decided = threading.Event()

    def _await_commit(self, job_id: int) -> float:
        if self.vouching.has_run(job_id) and job_id not in self.steps.aborting:
            jobs = self.member.jobs
            wait_for(lambda: jobs.job(job_id).status == JobStatus.COMMITTED, 120, "the compute node to commit")
            self.decided.set()
            self.steps.abort(job_id, NO_COMMIT)  # reverts (or, on a loaded node, times out): either way it is moot
        return 0.2


def aborted_by(runners: Consortium, job_id: int) -> tuple[str, bytes]:
    """Who aborted job `job_id` on chain, and the reason it recorded."""
    jobs = runners.members["regulator"].jobs
    events = jobs.logs(0, runners.members["regulator"].head_block())
    aborted = [e for e in events if e.name == "JobAborted" and e.args["jobId"] == job_id]
    assert len(aborted) == 1, aborted
    return aborted[0].args["by"], bytes.fromhex(aborted[0].args["reason"][2:])


def test_a_compute_node_that_crashes_after_the_run_without_committing_is_aborted_by_the_others_in_time(
    runners: Consortium,
) -> None:
    bank = runners.start("bank", protocol_timeout=TIMEOUT)
    invoice = runners.start("invoice-firm", protocol_timeout=TIMEOUT)
    compute = runners.start("compute-node", runner_class=CrashesBeforeCommitting, protocol_timeout=TIMEOUT)
    job_id = runners.open_psi()
    for started in (bank, invoice, compute):
        wait_for(lambda: "protocol-done" in started.stages(job_id), 120, "the run to end")  # noqa: B023 - used at once
    compute.halt()
    crashed = time.monotonic()

    assert runners.wait_final(job_id) == JobStatus.ABORTED
    took = time.monotonic() - crashed
    assert took < 60, f"aborted {took:.0f} s after the committer crashed"  # the job's deadline is 300 s away
    by, reason = aborted_by(runners, job_id)
    assert reason == reason_code(NO_COMMIT)
    survivors = {bank.runner.address: bank, invoice.runner.address: invoice}
    assert by in survivors and "commit-timeout" in survivors[by].stages(job_id)
    assert runners.members["regulator"].settlement.escrow_of(job_id) == 0  # nothing stays locked


def test_an_abort_that_loses_the_race_to_the_commit_reverts_and_the_party_still_signs(runners: Consortium) -> None:
    runners.start("bank")
    invoice = runners.start("invoice-firm", runner_class=AbortsAfterTheCommit)
    runners.start("compute-node")
    job_id = runners.open_psi()

    assert runners.wait_final(job_id) == JobStatus.FINALIZED
    assert AbortsAfterTheCommit.decided.is_set()
    assert "abort" not in invoice.stages(job_id)  # it never landed
    assert "attest" in invoice.stages(job_id)  # its decision to abort did not stop it from signing
    assert runners.members["regulator"].jobs.has_attested(job_id, invoice.runner.address)
