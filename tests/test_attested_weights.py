"""Attest only what you re-derived: the hetero-LR job's weights, checked from the utility table by everyone.

The chain is an embedded node served in this process on a clock the test can move forward
(the attestation window is a day, the resolution window two weeks); every honest party is
its own `custos runner up` process. The adversaries are test doubles of two organisations'
software, run in-process as runners: the bank's, which claims weights its own table does not
give, and a compute node's that commits that claim without checking it. Each test is one
hetero-LR run end to end (30–50 s on two shared cores): the checks live in the runners, so
nothing smaller shows them.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import ledger.chain.node
from compute.bundle import verify_bundle
from compute.channel import Channel
from compute.fl.hetero_lr.arbiter import RESULT
from compute.fl.hetero_lr.wire import pack, unpack
from compute.jobs.job_steps import JobView
from compute.jobs.kinds import JobKind as RunnableKind
from compute.jobs.kinds import Plan
from compute.jobs.runner import JobRunner
from compute.jobs.snapshot import JobData
from compute.jobs.workspace import Workspace
from compute.psi.rsa import PROTOCOL as PSI_PROTOCOL
from compute.result import hash_result
from compute.session import Role, RoleOutput
from custos.demo import CONSORTIUM, Demo
from gateway.chain import open_gateway
from gateway.client import GatewayClient
from ledger.audit.auditor import Auditor
from ledger.bindings import JobStatus
from ledger.chain.node import Node
from ledger.chain.server import ChainServer
from ledger.chain.setup import init_chain, validator_key
from ledger.keystore import DEV_PASSWORD, PASSWORD_ENV, Keystore
from ledger.merkle import MerkleTree, leaf_hash
from ledger.protocol import JobKind as ChainKind
from ledger.protocol import contribution_hash, inputs_hash
from tests.gateway.conftest import refused, serve
from tests.small_demo import small_demo_config
from tests.waiting import RunnerProgress, wait_for

pytestmark = pytest.mark.timeout(400)
DAY = 24 * 3600


class ShiftedClock:
    """The chain node's view of `time`, which the test moves forward instead of waiting a day."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


class Consortium:
    """The demo's organisations on an in-process chain whose clock the test holds."""

    def __init__(self, folder: Path) -> None:
        self.demo = Demo(small_demo_config(folder, deadline=300, timeout=240), lambda line: None)
        self.demo.folder.mkdir(parents=True)
        init_chain(self.demo.chain, CONSORTIUM)
        self.node = Node.open(self.demo.chain, validator_key(self.demo.chain, DEV_PASSWORD))
        self.server = ChainServer(self.node, "127.0.0.1", 0)
        self.server.start()
        self.members = self.demo.members(self.server.url)
        self.sources = self.demo.register_sources(self.server.url, self.members)

    def close(self) -> None:
        self.demo.stop()
        self.server.stop()
        self.node.close()

    def address(self, name: str) -> str:
        return Keystore(self.demo.chain / "keystore").address(name)

    def workspace(self, name: str) -> Workspace:
        return Workspace.load(self.demo.folder / "parties" / name)


@pytest.fixture(scope="module")
def clock() -> Iterator[ShiftedClock]:
    shifted, real = ShiftedClock(), ledger.chain.node.time
    ledger.chain.node.time = shifted  # type: ignore[assignment]  # the node reads the module's time(); the test moves it
    yield shifted
    ledger.chain.node.time = real


@pytest.fixture(scope="module")
def consortium(clock: ShiftedClock, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv(PASSWORD_ENV, DEV_PASSWORD)  # the in-process runners unlock their keys as the processes do
        running = Consortium(tmp_path_factory.mktemp("attested") / "demo")
        try:
            yield running
        finally:
            running.close()


def bundle_ids(consortium: Consortium) -> set[str]:
    """Every row id of every party's data file."""
    ids = set()
    for name in ("bank", "invoice-firm", "card-network"):
        lines = (consortium.demo.folder / "parties" / name / "data.csv").read_text().splitlines()[1:]
        ids |= {line.split(",")[0] for line in lines}
    return ids


def test_an_auditor_fetches_a_bundle_over_http_and_recomputes_the_root_and_the_weights(consortium: Consortium) -> None:
    # One honest hetero-LR job to Finalized, then the regulator (AUDITOR, not a participant) reads
    # the bank's bundle from the bank's gateway. Slow (~1 min): it is the end-to-end run the check needs.
    demo, members = consortium.demo, consortium.members
    job_id = demo.open_job(members["bank"], consortium.sources)
    demo.start_runners(job_id)
    assert demo.wait_final(members["regulator"], job_id) == JobStatus.FINALIZED
    app, close = open_gateway(
        bytes(Keystore(demo.chain / "keystore").unlock("bank", DEV_PASSWORD).key),
        rpc=consortium.server.url,
        deployment=demo.chain / "deployment.json",
        state=demo.folder / "bank-gateway",
        workspace=demo.folder / "parties" / "bank",
    )
    gateway = serve(app)
    # A PSI job between the bank and the invoice firm: the card network is neither a participant nor an auditor.
    document = {"protocol": PSI_PROTOCOL, "sources": [consortium.sources["bank"], consortium.sources["invoice-firm"]]}
    other_job = demo.open_with(members["bank"], ChainKind.PSI, document, tuple(document["sources"]))
    try:
        keystore = Keystore(demo.chain / "keystore")
        auditor = GatewayClient.connect(gateway.url, bytes(keystore.unlock("regulator", DEV_PASSWORD).key))
        fetched = auditor.get(f"/jobs/{job_id}/result")
        card = GatewayClient.connect(gateway.url, bytes(keystore.unlock("card-network", DEV_PASSWORD).key))
        not_theirs = card.get(f"/jobs/{other_job}/result")
    finally:
        gateway.stop()
        close()

    assert fetched.status_code == 200, fetched.text
    bundle = fetched.json()
    job = members["regulator"].jobs.job(job_id)
    _, weights, _ = members["regulator"].jobs.job_parties(job_id)
    # The auditor's own arithmetic, from the bundle alone: the root from the leaves, the weights from the table.
    leaves = [leaf_hash(bytes.fromhex(m[2:])) for m in bundle["transcript_leaves"]]
    assert MerkleTree.from_leaves(leaves).root == job.transcript_root
    assert verify_bundle(bundle) == []  # the weights re-derived from the utility table by the rule
    assert bundle["weights"] == list(weights) and len(weights) == 3
    assert (
        contribution_hash(bundle["weights"], bytes.fromhex(bundle["utility_table_hash"][2:])) == job.contribution_hash
    )
    assert bytes.fromhex(bundle["result_hash"][2:]) == job.result_hash == hash_result(bundle["result"])
    sources, versions, _, _ = members["regulator"].jobs.job_sources(job_id)
    recorded = [members["regulator"].registry.commitment_at(s, v).commitment for s, v in zip(sources, versions)]
    assert inputs_hash(sources, versions, recorded) == job.inputs_hash  # the attesters' check of inputsHash
    # Hashes and numbers only: no party's row ids reach any bundle, on any party's disk.
    ids = bundle_ids(consortium)
    for name in ("bank", "invoice-firm", "card-network", "compute-node"):
        text = (demo.folder / "parties" / name / "results" / f"{job_id}.json").read_text()
        assert not any(i in text for i in ids), f"{name}'s bundle holds a row id"
        assert json.loads(text)["contribution_hash"] == "0x" + job.contribution_hash.hex()
    refused(not_theirs, 403, "auth.not_participant")


# -- the adversaries --------------------------------------------------------------------------


class _RewritingChannel:
    """The bank's channel, rewriting the result it sends: most of the pool to the bank, same table."""

    def __init__(self, channel: Channel, claims: dict[str, Any]) -> None:
        self._channel, self._claims = channel, claims

    def send(self, to: str, step: str, payload: bytes, **kwargs: Any) -> None:
        if step == RESULT:
            result = unpack(payload, self._channel.address, step)
            section = result["contribution"]
            inflated = [990000, 5000, 5000]
            table_hash = bytes.fromhex(section["utility_table_hash"][2:])
            section |= {"weights": inflated, "contribution_hash": "0x" + contribution_hash(inflated, table_hash).hex()}
            self._claims["result"] = result
            payload = pack(result)
        self._channel.send(to, step, payload, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._channel, name)


def inflating(role: Role) -> Role:
    def cheat(channel: Channel) -> RoleOutput:
        claims: dict[str, Any] = {}
        out = role(_RewritingChannel(channel, claims))  # type: ignore[arg-type]  # a duck-typed channel
        result = claims["result"]
        return RoleOutput({"result": result}, hash_result(result), metadata=out.metadata)

    return cheat


class InflatingBank(JobRunner):
    """The bank's software, rewritten so that its result claims weights its own utility table does not give."""

    def _plan(self, job_id: int, view: JobView, data: JobData) -> tuple[RunnableKind, Plan]:
        kind, plan = super()._plan(job_id, view, data)
        assert plan.role is not None
        return kind, replace(plan, role=inflating(plan.role))


class UncheckingComputeNode(JobRunner):
    """A compute node's software that commits (and signs) the guest's claim without re-deriving it."""

    def _checked_bundle(self, job_id: int, view: JobView) -> tuple[dict[str, Any] | None, list[str]]:
        bundle, _ = super()._checked_bundle(job_id, view)
        return bundle, []


def in_process(runner: JobRunner, job_id: int) -> Callable[[], None]:
    """Run `runner` on `job_id` in a thread; returns what stops it."""
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), kwargs={"only": job_id}, daemon=True)
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=30)
        runner.close()

    return halt


def test_a_guest_whose_weights_do_not_follow_from_its_table_gets_no_attestations_and_the_job_is_escalated(
    consortium: Consortium, clock: ShiftedClock
) -> None:
    demo, members = consortium.demo, consortium.members
    jobs = members["regulator"].jobs
    job_id = demo.open_job(members["bank"], consortium.sources)
    hosts = demo.start_runners(job_id, parties=("invoice-firm", "card-network"))
    stops = []
    for name, double in (("bank", InflatingBank), ("compute-node", UncheckingComputeNode)):
        workspace = consortium.workspace(name)
        stops.append(in_process(double(workspace, workspace.member(), protocol_timeout=8), job_id))
    try:
        progress = {name: RunnerProgress(process) for name, process in hosts.items()}
        for name, host in progress.items():
            wait_for(lambda h=host: h.stage("attest-refused"), 200, f"{name} to refuse to attest")  # type: ignore[misc]  # default binds the loop value
        refusal = progress["invoice-firm"].stage("attest-refused") or {}
        compute = consortium.address("compute-node")
        wait_for(lambda: jobs.has_attested(job_id, compute), 60, "the unchecking compute node to sign its commit")

        assert jobs.job(job_id).status == JobStatus.COMMITTED
        _, committed, attesters = jobs.job_parties(job_id)
        assert list(committed) == [990000, 5000, 5000]  # the claim reached the chain ...
        assert "do not follow from the utility table" in refusal["detail"]  # ... and no honest host signed it
        signed = [a for a in attesters if jobs.has_attested(job_id, a)]
        assert signed == [compute]

        # A day later the attestation window has passed: a host escalates (the liveness path).
        clock.offset += DAY + 60
        members["regulator"].token.approve(
            consortium.address("regulator"), 0
        )  # any transaction: a block on the new clock
        wait_for(lambda: jobs.job(job_id).status == JobStatus.DISPUTED, 60, "the job to be escalated")
        # Governance does not step in: two weeks on, the default (refund) applies.
        clock.offset += 14 * DAY + 60
        members["regulator"].token.approve(consortium.address("regulator"), 0)
        wait_for(lambda: jobs.job(job_id).status == JobStatus.REFUNDED, 60, "the unresolved dispute to be settled")
    finally:
        for halt in stops:
            halt()

    auditor = Auditor.open(members["regulator"].sender.w3, members["regulator"].deployment, demo.folder / "audit.db")
    auditor.sync()
    events = [e.event for e in auditor.queries.job_trail(job_id).events]
    assert "JobEscalated" in events and "DisputeDefaulted" in events and "JobFinalized" not in events
    assert events.count("AttestationRecorded") == 1
    assert members["regulator"].settlement.escrow_of(job_id) == 0
    assert auditor.verifier.verify_job(job_id).ok
    assert not (demo.folder / "parties" / "invoice-firm" / "results" / f"{job_id}.json").exists()


def test_an_honest_compute_node_refuses_to_commit_a_guests_unfounded_weights_and_aborts(
    consortium: Consortium,
) -> None:
    demo, members = consortium.demo, consortium.members
    job_id = demo.open_job(members["bank"], consortium.sources)
    demo.start_runners(job_id, parties=("invoice-firm", "card-network", "compute-node"))
    workspace = consortium.workspace("bank")
    halt = in_process(InflatingBank(workspace, workspace.member(), protocol_timeout=8), job_id)
    try:
        status = demo.wait_final(members["regulator"], job_id)
    finally:
        halt()

    assert status == JobStatus.ABORTED
    auditor = Auditor.open(members["regulator"].sender.w3, members["regulator"].deployment, demo.folder / "audit.db")
    auditor.sync()
    events = auditor.queries.job_trail(job_id).events
    aborted = next(e for e in events if e.event == "JobAborted")
    assert bytes.fromhex(aborted.args["reason"][2:]).rstrip(b"\0") == b"WEIGHTS_UNVERIFIED"
    assert aborted.args["by"].lower() == consortium.address("compute-node").lower()
    assert "ResultCommitted" not in [e.event for e in events]
    assert members["regulator"].settlement.escrow_of(job_id) == 0 and auditor.verifier.verify_job(job_id).ok
