"""The gateway supervising a real job runner: its progress lines become the live progress of the job."""

from __future__ import annotations

from pathlib import Path

import pytest

from custos.demo import Demo
from gateway.progress import ProgressBus
from gateway.runner_feed import supervise
from ledger.bindings import JobStatus
from ledger.keystore import DEV_PASSWORD, PASSWORD_ENV
from tests.small_demo import small_demo_config
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(300)


def test_a_supervised_runner_reports_consent_through_finish_on_the_bus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, DEV_PASSWORD)
    run = Demo(
        small_demo_config(tmp_path / "demo"),
        lambda line: None,
    )
    bus = ProgressBus()
    process = None
    try:
        rpc = run.start_chain()
        members = run.members(rpc)
        job_id = run.open_job(members["bank"], run.register_sources(rpc, members))
        process = supervise(run.folder / "parties" / "bank", bus)  # the bank's runner, under the gateway
        run.start_runners(job_id, parties=("invoice-firm", "card-network", "compute-node"))

        assert run.wait_final(members["regulator"], job_id) == JobStatus.FINALIZED
        wait_for(lambda: any(e.fraction == 1.0 for e in bus.history(job_id)), 20, "the runner's last progress event")

        stages = [e.stage for e in bus.history(job_id)]
        assert stages[0] == "consent" and "running" in stages and "attested" in stages
        assert bus.history(job_id)[-1].stage == "finished" and bus.history(job_id)[-1].fraction == 1.0
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=10)
        run.stop()
