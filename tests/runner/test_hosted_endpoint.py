"""A runner hosted on someone else's endpoint: the host mounts its routes, the chain publishes its public URL."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from compute.jobs.peers import IDENTITY_PATH
from compute.jobs.runner import JobRunner
from compute.transport import MessageEndpoint, serve_endpoint
from ledger.bindings import JobStatus
from ledger.keystore import DEV_PASSWORD
from tests.runner.conftest import Consortium

pytestmark = pytest.mark.timeout(300)


def test_a_runner_on_a_host_apps_endpoint_publishes_its_public_url_and_finishes_a_psi_job(runners: Consortium) -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # held from bind to serve: no other process takes the port
    public_url = f"http://127.0.0.1:{listener.getsockname()[1]}"  # what a gateway would be given as --public-url
    endpoint = MessageEndpoint()
    bank = runners.start("bank", endpoint=endpoint, public_url=public_url)
    host = serve_endpoint(endpoint, listener=listener, extra=[bank.runner.party_routes()])
    try:
        runners.start("invoice-firm")
        runners.start("compute-node")
        job_id = runners.open_psi()

        assert runners.wait_final(job_id) == JobStatus.FINALIZED
        bundle = json.loads((runners.workspace("bank").folder / "results" / f"{job_id}.json").read_text())
        assert bundle["transcript_entries"] == 5  # RSA blind-signature PSI: every message, once
        published = runners.members["regulator"].consortium.member(bank.runner.address)
        assert published.endpoint == public_url
        identity = httpx.get(public_url + IDENTITY_PATH, timeout=10).json()
        assert identity["address"] == bank.runner.address
        assert "protocol" in bank.stages(job_id)
        (access,) = runners.audit_records(job_id, "bank")  # the bank read its source once, and can prove when
        assert access["kind"] == "data-access" and access["source_id"] == 0
        recorded = runners.members["regulator"].registry.commitment_at(0, access["version"])
        assert access["commitment"] == "0x" + recorded.commitment.hex()
    finally:
        bank.halt()
        host.stop()


def test_a_runner_on_a_host_endpoint_without_a_public_url_is_refused(runners: Consortium) -> None:
    workspace = runners.workspace("bank")
    with pytest.raises(ValueError, match="public_url"):
        JobRunner(workspace, workspace.member(DEV_PASSWORD), endpoint=MessageEndpoint())
