"""SIGTERM stops a gateway with its job runner, a bare runner and a chain node within seconds, status 0.

A gateway used to take ~10 s: its open progress streams held uvicorn's graceful shutdown, its
runner waited for a protocol run to time out, and uvicorn then re-raised SIGTERM under Python's
default handler (status -15). Here the bank's gateway is stopped in the middle of the job's
protocol run, every peer up: it abandons its run and says so, exits 0 well within 5 s and frees
its port, and the parties still up abort the job, as for a crashed party (a restarted runner
takes the chain's word). Then the card network's `custos runner up`, the other gateways and the
chain node. (The runner's stop mid-protocol is the same `JobRunner.run(grace=...)` path.)
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from custos.demo import Demo
from custos.demo_processes import child_env
from ledger.bindings import JobStatus
from tests.processes import port_free
from tests.small_demo import small_demo_config
from tests.waiting import RunnerProgress, wait_for

pytestmark = pytest.mark.timeout(300)
STOPPED_WITHIN = 5.0  # seconds; the stop itself takes ~1-2 s, the rest is room for a loaded machine


def terminate(processes: dict[str, subprocess.Popen]) -> dict[str, tuple[int | None, float]]:
    """SIGTERM every process at once; each one's exit status and seconds to exit (None: still running)."""
    sent = time.monotonic()
    for process in processes.values():
        process.send_signal(signal.SIGTERM)
    ended = {}
    for name, process in processes.items():
        try:
            process.wait(timeout=max(0.1, sent + STOPPED_WITHIN - time.monotonic()))
        except subprocess.TimeoutExpired:
            ended[name] = (None, STOPPED_WITHIN)
            continue
        ended[name] = (process.returncode, round(time.monotonic() - sent, 2))
    return ended


def port(url: str) -> int:
    return int(urlsplit(url).port or 0)


@pytest.fixture
def demo(tmp_path: Path):
    run = Demo(small_demo_config(tmp_path / "demo", deadline=120), lambda line: None)
    yield run
    run.stop()


def runner_up(demo: Demo, name: str) -> tuple[subprocess.Popen[str], RunnerProgress]:
    """`custos runner up` for `name`, following every job (with `--job` it would exit by itself once the job is
    final: a SIGTERM after that would prove nothing); the demo stops it if the test does not."""
    command = [sys.executable, "-m", "custos", "runner", "up", "--workspace", str(demo.folder / "parties" / name)]
    command += ["--protocol-timeout", str(demo.config.protocol_timeout)]
    with (demo.folder / "parties" / name / "runner.log").open("w") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, env=child_env(), text=True)
    demo.processes.append(process)
    return process, RunnerProgress(process)


def test_sigterm_mid_protocol_stops_a_gateway_at_once_with_status_0_then_a_runner_and_the_chain_node(
    demo: Demo,
) -> None:
    rpc = demo.start_chain()
    members = demo.members(rpc)
    job_id = demo.open_job(members["bank"], demo.register_sources(rpc, members))
    gateways = demo.start_gateways(job_id, parties=("bank", "invoice-firm", "compute-node"))
    card_runner, card = runner_up(demo, "card-network")
    listening = wait_for(lambda: card.stage("up"), 60, "the card network's runner to listen")["detail"]
    wait_for(lambda: demo.progress.reached("bank", "protocol", job_id), 120, "the bank's gateway to run the protocol")
    assert members["regulator"].jobs.job(job_id).status == JobStatus.READY  # mid-protocol: nothing committed

    bank = terminate({"bank": gateways["bank"]})  # every peer is up: only the stop can end its protocol run

    assert bank["bank"][0] == 0, bank
    assert port_free(port(demo.gateways["bank"]))
    gateway_log = (demo.folder / "parties" / "bank" / "gateway.log").read_text()
    assert f"job {job_id} bank: abandoned (the runner stopped mid-step" in gateway_log, gateway_log[-2000:]
    assert "Traceback" not in gateway_log and "timeout graceful shutdown exceeded" not in gateway_log
    # The parties still up abort the job, as for a crashed party: the escrow goes back, nothing is committed.
    regulator = members["regulator"].jobs
    wait_for(lambda: regulator.job(job_id).status == JobStatus.ABORTED, 120, "the others to abort the job")
    assert regulator.job(job_id).result_hash == bytes(32)

    assert card_runner.poll() is None  # a runner without --job runs on after the job: only SIGTERM stops it
    rest = terminate(
        {"card-network": card_runner} | {name: gateways[name] for name in ("invoice-firm", "compute-node")}
    )
    node = terminate({"chain": demo.processes[0]})  # `custos chain up`, started first

    assert {name: code for name, (code, _) in (rest | node).items()} == dict.fromkeys(
        ("card-network", "invoice-firm", "compute-node", "chain"), 0
    ), rest | node
    urls = [listening, demo.gateways["invoice-firm"], demo.gateways["compute-node"], rpc]
    assert [url for url in urls if not port_free(port(url))] == []
