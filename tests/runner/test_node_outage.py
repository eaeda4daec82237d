"""The chain node goes away mid-job: runners back off, resume where the chain says, and finish the job."""

from __future__ import annotations

import subprocess
import sys

import pytest

from custos.demo_processes import child_env
from ledger.bindings import JobStatus
from tests.runner.conftest import Consortium
from tests.waiting import RunnerProgress, wait_for

pytestmark = pytest.mark.timeout(300)


def test_runners_outlive_a_node_restart_mid_job_and_runner_up_waits_for_a_node_that_is_down(
    runners: Consortium,
) -> None:
    started = [runners.start(name) for name in ("bank", "invoice-firm", "compute-node")]
    job_id = runners.open_psi()
    wait_for(lambda: "consent" in started[0].stages(job_id), 60, "the bank to consent")

    rpc = runners.stop_node()
    for runner in started:
        wait_for(lambda r=runner: "node-unreachable" in r.stages(-1), 60, f"{runner.runner.workspace.name} to notice")
    workspace = runners.workspace("card-network").folder
    process = subprocess.Popen(
        [sys.executable, "-m", "custos", "runner", "up", "-w", str(workspace)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=child_env(),
    )
    try:
        progress = RunnerProgress(process)
        wait_for(lambda: progress.stage("node-unreachable"), 60, "`runner up` to report the node unreachable")
        assert process.poll() is None  # waiting, not dead
        runners.start_node(rpc)

        assert runners.wait_final(job_id) == JobStatus.FINALIZED
        wait_for(lambda: progress.stage("up"), 60, "`runner up` to come up once the node is back")
        for runner in started:
            assert runner.thread.is_alive()
            assert "node-back" in runner.stages(-1)
    finally:
        process.terminate()
        assert process.wait(timeout=60) == 0  # SIGTERM: a clean stop
