"""One worker per job: a stalled protocol holds only its own job; failures are anchored for audit."""

from __future__ import annotations

import json
import threading

import pytest

from compute.jobs.runner import JobRunner
from ledger.bindings import JobStatus
from tests.runner.conftest import Consortium
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(300)


class HeldProtocolRunner(JobRunner):
    """Test double: an organisation whose software consents at once but starts the protocol only when let."""

    release = threading.Event()

    def _run_protocol(self, job_id, view) -> None:  # type: ignore[no-untyped-def]  # the runner's own signature
        self.release.wait(timeout=120)
        super()._run_protocol(job_id, view)


def test_a_held_psi_run_does_not_hold_up_a_statistics_job_of_the_same_runners(runners: Consortium) -> None:
    bank = runners.start("bank", protocol_timeout=90.0)  # waits for the held party as long as the test may take
    runners.start("invoice-firm", runner_class=HeldProtocolRunner)
    runners.start("card-network")
    runners.start("compute-node", protocol_timeout=90.0)
    held = runners.open_psi()
    wait_for(lambda: "protocol" in bank.stages(held), 60, "the bank to start the held PSI run")

    stats = runners.open_stats()
    assert runners.wait_final(stats) == JobStatus.FINALIZED
    assert runners.members["regulator"].jobs.job(held).status == JobStatus.READY  # still running, in its own worker

    HeldProtocolRunner.release.set()
    assert runners.wait_final(held) == JobStatus.FINALIZED
    bundle = json.loads((runners.workspace("bank").folder / "results" / f"{held}.json").read_text())
    assert bundle["result_hash"] == "0x" + runners.members["regulator"].jobs.job(held).result_hash.hex()


def test_a_job_whose_document_misnames_its_sources_is_aborted_and_each_party_keeps_its_failure_record(
    runners: Consortium,
) -> None:
    for name in ("bank", "invoice-firm", "compute-node"):
        runners.start(name)
    job_id = runners.open_psi(sources=(0, 1), named=(1, 0))

    assert runners.wait_final(job_id) == JobStatus.ABORTED
    bank = runners.audit_records(job_id, "bank")  # each participant's records are anchored and verified on chain
    assert [r["kind"] for r in bank] == ["failure"] and bank[0]["reason"].startswith("PROTOCOL")
    invoice = runners.audit_records(job_id, "invoice-firm")  # PROVIDER only: a participant anchors its own records
    assert [r["kind"] for r in invoice] == ["failure"] and invoice[0]["organisation"] == "invoice-firm"


def test_a_restarted_runner_finds_its_unfinished_job_by_the_start_up_scan_and_finishes_it(runners: Consortium) -> None:
    first = runners.start("bank")
    runners.start("compute-node")
    job_id = runners.open_psi()
    wait_for(lambda: "consent" in first.stages(job_id), 60, "the bank to consent")
    first.halt()  # the bank's runner stops with the job open: the invoice firm has not consented yet

    runners.start("invoice-firm")
    runners.wait_status(job_id, lambda s: s != JobStatus.OPEN, 60, "the invoice firm to consent")
    again = runners.start("bank")  # a new process: nothing in memory, only what the chain says

    assert runners.wait_final(job_id) == JobStatus.FINALIZED
    assert "consent" not in again.stages(job_id)  # it did not consent twice: the chain said it had
    assert "protocol" in again.stages(job_id)
