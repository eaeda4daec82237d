"""The job runner inside the gateway's process: its endpoint is the gateway's transport route,
its party routes are mounted there, the gateway's URL is published on chain, its typed progress
goes straight onto the gateway's bus, and it lives as long as the server serves."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import httpx
import pytest
import uvicorn

from compute.jobs.peers import IDENTITY_PATH
from compute.psi.rsa import PROTOCOL as PSI_PROTOCOL
from custos.demo import Demo
from gateway.chain import ChainGatewayError, RunnerHosting, open_gateway
from gateway.client import GatewayClient
from gateway.services import GatewayServices
from ledger.bindings import JobStatus
from ledger.keystore import DEV_PASSWORD, PASSWORD_ENV
from ledger.protocol import JobKind
from tests.small_demo import small_demo_config
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(PASSWORD_ENV, DEV_PASSWORD)
    run = Demo(small_demo_config(tmp_path / "demo"), lambda line: None)
    yield run
    run.stop()


def test_a_hosted_runner_plays_psi_through_the_gateway_and_streams_consent_to_finish_on_its_bus(demo: Demo) -> None:
    rpc = demo.start_chain()
    members = demo.members(rpc)
    demo.register_sources(rpc, members)
    job_id = demo.open_with(members["bank"], JobKind.PSI, {"protocol": PSI_PROTOCOL, "sources": [0, 1]}, (0, 1))
    # The test holds the socket from bind to serve: the URL published on chain is known before the
    # gateway exists, and no other process can take the port in between.
    listener = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    app, close = open_gateway(
        demo.keys["bank"],
        rpc=rpc,
        deployment=demo.chain / "deployment.json",
        state=demo.folder / "bank-gateway",
        workspace=demo.folder / "parties" / "bank",
        runner=RunnerHosting(url, protocol_timeout=demo.config.protocol_timeout),
    )
    services: GatewayServices = app.state.services
    assert services.runner is not None and not services.runner.alive  # it starts with the server, not before
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, 30, "the bank's gateway to serve")
        demo.start_gateways(job_id, parties=("invoice-firm", "compute-node"))

        # The bundle is served from the commit on, before finalisation, while the runner keeps running.
        jobs = members["regulator"].jobs
        with GatewayClient.connect(url, demo.keys["bank"]) as client:

            def served() -> JobStatus | None:
                before = jobs.job(job_id).status  # read first: a 200 then proves the bundle was out by then
                return before if client.get(f"/jobs/{job_id}/result").status_code == 200 else None

            status_when_served = wait_for(served, 120, "the bank's gateway to serve the job's bundle")
        assert status_when_served == JobStatus.COMMITTED  # finalising needs the bank's attestation, made after saving

        assert demo.wait_final(members["regulator"], job_id) == JobStatus.FINALIZED
        wait_for(lambda: any(e.stage == "finished" for e in services.progress.history(job_id)), 20, "the last step")

        bank = members["bank"].address
        assert members["regulator"].consortium.member(bank).endpoint == url  # the gateway is the party endpoint
        assert httpx.get(url + IDENTITY_PATH, timeout=10).json()["address"] == bank
        history = services.progress.history(job_id)
        assert [e.stage for e in history][0] == "consent" and history[-1].fraction == 1.0
        assert {"protocol", "protocol-done", "attest", "finalize"} <= {e.step for e in history}
        assert {e.party for e in history} == {"bank"}
        assert services.transport.dropped == 0  # every envelope the peers sent the bank came through the route
        with GatewayClient.connect(url, demo.keys["bank"]) as client:  # served while the runner keeps running
            bundle = client.get(f"/jobs/{job_id}/result")
        assert bundle.status_code == 200 and services.runner.alive
        assert bundle.json()["result_hash"] == "0x" + members["regulator"].jobs.job(job_id).result_hash.hex()
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()
        close()
    assert not services.runner.alive  # the server's shutdown stopped it


def test_a_gateway_refuses_to_host_another_members_runner_workspace(demo: Demo) -> None:
    rpc = demo.start_chain()
    demo.members(rpc)

    with pytest.raises(ChainGatewayError, match="is bank's"):
        open_gateway(
            demo.keys["invoice-firm"],
            rpc=rpc,
            deployment=demo.chain / "deployment.json",
            state=demo.folder / "gateway",
            workspace=demo.folder / "parties" / "bank",
            runner=RunnerHosting("http://127.0.0.1:9"),
        )
