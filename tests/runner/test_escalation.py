"""An attester that never signs: past the attestation window a runner escalates, past the resolution window it
settles. The chain node runs in this process so the test can move the clock (the only fake here)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from compute.jobs.runner import JobRunner
from custos.demo import CONSORTIUM, Demo
from ledger.bindings import JobStatus
from ledger.chain.node import Node
from ledger.chain.server import ChainServer
from ledger.chain.setup import init_chain, validator_key
from ledger.keystore import DEV_PASSWORD
from tests.runner.conftest import Consortium
from tests.small_demo import small_demo_config
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(300)
HOUR, DAY = 3600, 86400


class SilentAttester(JobRunner):
    """Test double: an organisation whose software takes part in the run but never signs the result."""

    def _attest(self, job_id, view) -> None:  # type: ignore[no-untyped-def]  # the runner's own signature
        return


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Seconds added to the wall clock of this process (the chain node's and the runners')."""
    offset = [0.0]
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + offset[0])
    return offset


@pytest.fixture
def consortium(tmp_path: Path, clock: list[float]) -> Iterator[Consortium]:
    """The demo consortium on a chain node served from this process."""
    demo = Demo(small_demo_config(tmp_path / "demo"), lambda line: None)
    demo.folder.mkdir(parents=True)
    init_chain(demo.chain, CONSORTIUM, DEV_PASSWORD)
    node = Node.open(demo.chain, validator_key(demo.chain, DEV_PASSWORD))
    server = ChainServer(node, "127.0.0.1", 0)
    server.start()
    members = demo.members(server.url)
    consortium = Consortium(demo, members, demo.register_sources(server.url, members))
    try:
        yield consortium
    finally:
        for started in consortium.started:
            if started.thread.is_alive():
                started.halt()
        server.stop()
        node.close()


def test_an_attester_that_never_signs_is_escalated_past_the_window_and_settled_past_the_resolution_window(
    consortium: Consortium, clock: list[float]
) -> None:
    consortium.start("bank")
    consortium.start("invoice-firm", runner_class=SilentAttester)
    consortium.start("compute-node")
    job_id = consortium.open_psi()
    jobs = consortium.members["regulator"].jobs
    wait_for(lambda: jobs.job(job_id).attestations == 2, 120, "the bank and the compute node to attest")
    terms = jobs.job_terms(job_id)
    assert jobs.job(job_id).status == JobStatus.COMMITTED  # the silent attester holds finalisation back
    bundle = json.loads((consortium.workspace("bank").folder / "results" / f"{job_id}.json").read_text())
    assert bundle["result_hash"] == "0x" + jobs.job(job_id).result_hash.hex()  # saved at commit, runner still up

    clock[0] += terms.attestation_window + 60
    consortium.wait_status(job_id, lambda s: s == JobStatus.DISPUTED, 60, "a runner to escalate")
    assert any("escalate" in r.stages(job_id) for r in consortium.started)  # once, by whoever was first

    clock[0] += terms.resolution_window + 60
    assert consortium.wait_final(job_id, timeout=60) == JobStatus.REFUNDED
    assert any("settle-unresolved" in r.stages(job_id) for r in consortium.started)
