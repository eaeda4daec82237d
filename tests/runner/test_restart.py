"""What a runner holds about a job outlives a restart until the job is final, and not a moment longer."""

from __future__ import annotations

import pytest

from compute.jobs.job_steps import reason_code
from compute.jobs.runner import JobRunner
from ledger.bindings import JobStatus
from tests.runner.conftest import Consortium, Started
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(300)


class DiesBeforeCommitting(JobRunner):
    """Test double: a compute node's software that finishes its run and dies before it commits."""

    def _commit(self, job_id, view) -> None:  # type: ignore[no-untyped-def]  # the runner's own signature
        return


class DiesBeforeAttesting(JobRunner):
    """Test double: a provider's software that finishes its run and dies before it signs."""

    def _attest(self, job_id, view) -> None:  # type: ignore[no-untyped-def]  # the runner's own signature
        return


def start_bank(runners: Consortium) -> Started:
    """The bank's runner, once it has published its endpoint: until then the test's own transactions from
    the bank's account (opening a job) would race its runner's for the account's next nonce."""
    bank = runners.start("bank")
    consortium = runners.members["regulator"].consortium
    wait_for(lambda: consortium.member(bank.runner.address).endpoint == bank.runner.url, 60, "the bank to publish")
    return bank


def test_a_compute_node_and_a_provider_restarted_after_their_run_commit_and_sign_it_from_their_kept_runs(
    runners: Consortium,
) -> None:
    start_bank(runners)
    first_invoice = runners.start("invoice-firm", runner_class=DiesBeforeAttesting)
    first_compute = runners.start("compute-node", runner_class=DiesBeforeCommitting)
    job_id = runners.open_psi()
    for started in (first_invoice, first_compute):
        wait_for(lambda: "protocol-done" in started.stages(job_id), 120, "the run to end")  # noqa: B023 - used at once
    kept = {
        name: runners.workspace(name).folder / "runs" / f"{job_id}.json" for name in ("invoice-firm", "compute-node")
    }
    assert all(path.is_file() for path in kept.values())  # written before the run counted as done
    first_compute.halt()  # its run lives on only in its workspace
    assert runners.members["regulator"].jobs.job(job_id).status == JobStatus.READY

    compute = runners.start("compute-node")  # a new process: the run is read back, not run again
    runners.wait_status(job_id, lambda s: s == JobStatus.COMMITTED, 120, "the restarted compute node to commit")
    first_invoice.halt()
    invoice = runners.start("invoice-firm")

    assert runners.wait_final(job_id) == JobStatus.FINALIZED
    assert "commit" in compute.stages(job_id) and "protocol" not in compute.stages(job_id)
    assert "attest" in invoice.stages(job_id) and "protocol" not in invoice.stages(job_id)
    assert runners.members["regulator"].jobs.has_attested(job_id, invoice.runner.address)
    # Nothing is left half-done: the kept runs go once the job is final; the result bundles stay.
    for name, path in kept.items():
        wait_for(lambda: not path.exists(), 60, f"{name} to let its kept run go")  # noqa: B023 - used at once
        assert (runners.workspace(name).folder / "results" / f"{job_id}.json").is_file()


def test_a_job_aborted_before_it_was_ready_leaves_nothing_held_by_the_runner_that_consented(
    runners: Consortium,
) -> None:
    bank = start_bank(runners)  # the invoice firm's runner is not up: the job stays open
    job_id = runners.open_psi()
    wait_for(lambda: "consent" in bank.stages(job_id), 60, "the bank to consent")
    assert job_id in bank.runner.holding()  # the snapshot its consent checked, kept for the protocol

    runners.members["bank"].jobs.abort(job_id, reason_code("REQUESTER gave up"))

    assert runners.wait_final(job_id) == JobStatus.ABORTED
    wait_for(lambda: job_id not in bank.runner.holding(), 60, "the bank's runner to let the job's snapshot go")
