"""Parties on different hosts: each organisation in its own network namespace, with its own address.

The bank, the invoice firm, the card network and the compute node each run, inside their own
namespace (veth pairs on a bridge the test makes and removes; root and etcd), their etcd member,
their consortium chain node (`custos chain up --key … --etcd …`: the four are the validators) and
`custos gateway up --runner` against their own node. Everything listens only at the namespace's
address, so the nodes reach each other, and every organisation every other, over the network,
never over loopback. One consortium, four jobs in order:
- the demo's hetero-LR job and a PSI job run to Finalized, each in a block sealed by at least 3
  of the 4 validators, which every organisation's node holds;
- the invoice firm's gateway (and so its runner) is killed mid-protocol: the parties still up
  abort the job, named on chain, with no result committed and the escrow paid out in full;
  started again, its runner takes the chain's word (the job is over: no result kept) and plays
  the next job;
- the card network's link goes down mid-protocol (its gateway, its node and its etcd member cut
  off at once): the three validators still connected abort the job with a named reason, on
  chain, and the escrow is paid out in full (the restarted invoice firm
  takes part up to then: it consents).
A fault lands mid-protocol by construction, not by timing: both fault jobs are hetero-LR jobs
that train for many epochs (no early stop), and the fault comes when the guest reports its
first epoch, so the struck party has most of its part still to play (a fault timed on a
party's "protocol" step raced a PSI run of a second or two, which a loaded machine can finish
first: the job then commits without the struck party and waits for its attestation for hours).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from compute.fl.hetero_lr.schedule import HeteroLRParams
from compute.jobs.service.results import ResultStore
from compute.jobs.vertical import VerticalParams
from compute.psi.rsa import PROTOCOL as PSI_PROTOCOL
from custos.demo import PARTIES, Demo
from custos.demo_cluster import sealed_by
from ledger.audit.auditor import Auditor
from ledger.audit.queries import IndexedEvent
from ledger.bindings import JobStatus
from ledger.keystore import DEV_PASSWORD, PASSWORD_ENV
from ledger.member import MemberLedger
from ledger.protocol import JobKind
from tests.ledger.consensus.consortium import rpc
from tests.ledger.consensus.etcd_cluster import EtcdCluster
from tests.ledger.consensus.netns import Namespaces
from tests.namespace_chain import CHAIN_PORT, listening, start_namespace_consortium
from tests.small_demo import small_demo_config
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(600)

GATEWAY_PORT = 8080  # every organisation on its own address, so all on the same port
PROTOCOL_TIMEOUT = 30.0
LONG_TRAINING = 40  # epochs of a fault job: far more than the one after which the fault strikes


@dataclass(frozen=True)
class Namespaced:
    """The demo's `Placement`: organisation i runs in namespace i at address i (`rpc`, the bank's node, is
    unused: every organisation's gateway talks to its own node, `Demo.rpc_of`)."""

    nets: Namespaces
    rpc: str
    port: int = GATEWAY_PORT

    def prefix(self, name: str) -> list[str]:
        return ["ip", "netns", "exec", self.nets.name(PARTIES.index(name))]

    def address(self, name: str) -> str:
        return self.nets.ip(PARTIES.index(name))

    def down(self, name: str) -> None:
        self.nets.partition(PARTIES.index(name))


@dataclass
class CrossHost:
    demo: Demo
    members: dict[str, MemberLedger]
    network: Namespaced
    hetero_lr_job: int


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrossHost]:
    patch = pytest.MonkeyPatch()
    patch.setenv(PASSWORD_ENV, DEV_PASSWORD)
    nets = Namespaces(len(PARTIES))
    etcd: EtcdCluster | None = None
    # A party silent for PROTOCOL_TIMEOUT is given up on: long enough that a loaded machine's slow but
    # honest party is waited for (8 s aborted the demo's job at load 20), short enough for the fault cases;
    # a job may take 240 s to end for the same reason.
    config = small_demo_config(
        tmp_path_factory.mktemp("cross-host") / "demo", protocol_timeout=PROTOCOL_TIMEOUT, timeout=240
    )
    demo = Demo(config, lambda line: None)
    try:
        nets.create()
        etcd = start_namespace_consortium(demo, nets)
        members = demo.members(demo.rpc)
        job_id = demo.open_job(members["bank"], demo.register_sources(demo.rpc, members))
        network = Namespaced(nets, demo.rpc)
        demo.start_gateways(job_id, network=network)
        yield CrossHost(demo, members, network, job_id)
    finally:
        demo.stop()
        if etcd is not None:
            etcd.stop()
        nets.remove()
        patch.undo()


def credits(hosts: CrossHost) -> dict[str, int]:
    settlement = hosts.members["regulator"].settlement
    return {name: settlement.credit_of(hosts.members[name].address) for name in PARTIES}


def job_event(hosts: CrossHost, job_id: int, name: str) -> IndexedEvent:
    """The job's one event called `name`, as the regulator's audit index reads it."""
    regulator = hosts.members["regulator"]
    auditor = Auditor.open(regulator.sender.w3, regulator.deployment, hosts.demo.folder / "audit-index.db")
    auditor.sync()
    found = [e for e in auditor.queries.job_trail(job_id).events if e.event == name]
    assert len(found) == 1, f"job {job_id} has {len(found)} {name} events"
    return found[0]


def assert_sealed_by_a_quorum_on_every_node(hosts: CrossHost, job_id: int) -> None:
    """The block that finalised the job is sealed by at least 3 of the 4 validators, and every organisation's
    node holds that block."""
    block = "0x" + job_event(hosts, job_id, "JobFinalized").block_hash.hex()
    seals, validators = sealed_by(hosts.demo.rpc_of["compute-node"], block)
    assert validators == 4 and seals >= 3, f"block {block} sealed by {seals} of {validators}"
    for name in PARTIES:
        url = hosts.demo.rpc_of[name]
        held = wait_for(lambda: rpc(url, "eth_getBlockByHash", [block, False]), 30, f"{block} on {name}'s node")  # noqa: B023 - used at once
        assert held["hash"] == block


def abort_reason(hosts: CrossHost, job_id: int) -> bytes:
    """The reason the job's one JobAborted event records."""
    reason = job_event(hosts, job_id, "JobAborted").args["reason"]
    return (reason if isinstance(reason, bytes) else bytes.fromhex(reason[2:])).rstrip(b"\0")


def open_psi(hosts: CrossHost) -> int:
    document = {"protocol": PSI_PROTOCOL, "sources": [0, 1]}
    return hosts.demo.open_with(hosts.members["bank"], JobKind.PSI, document, (0, 1))


def mid_protocol_job(hosts: CrossHost) -> tuple[int, dict[str, int]]:
    """A hetero-LR job on the three sources that trains `LONG_TRAINING` epochs (no early stop on progress),
    followed until the guest (the bank) reports its first epoch, so every party is mid-protocol;
    its id, and every organisation's credit before it."""
    lr = HeteroLRParams(epochs=LONG_TRAINING, patience=LONG_TRAINING, tolerance=0.0, n_bits=hosts.demo.config.key_bits)
    params = VerticalParams(0, (1, 2), lr=lr)
    before = credits(hosts)
    job_id = hosts.demo.open_with(hosts.members["bank"], JobKind.HETERO_LR, params.to_json(), params.source_ids)
    hosts.demo.follow(job_id)
    first_epoch = lambda: hosts.demo.progress.reached("bank", "round", job_id)  # noqa: E731 - a named condition
    wait_for(first_epoch, 120, f"the bank's first epoch of job {job_id}")
    return job_id, before


def test_every_organisation_runs_its_gateway_node_and_etcd_member_at_its_own_address_only(hosts: CrossHost) -> None:
    consortium = hosts.members["regulator"].consortium
    for name in PARTIES:
        address, url = hosts.members[name].address, f"http://{hosts.network.address(name)}:{GATEWAY_PORT}"
        # Each runner publishes its gateway's URL as its first act once the gateway serves.
        wait_for(lambda: consortium.member(address).endpoint == url, 60, f"{name} to publish {url}")  # noqa: B023 - used at once

    nets, chain_ids = hosts.network.nets, set()
    for i, name in enumerate(PARTIES):
        own = hosts.demo.rpc_of[name]
        assert own == f"http://{nets.ip(i)}:{CHAIN_PORT}"
        args = hosts.demo.gateway_processes[name].args
        assert isinstance(args, list)  # launch_gateway passes a list
        assert args[args.index("--rpc") + 1] == own, f"{name}'s gateway talks to {args[args.index('--rpc') + 1]}"
        chain_ids.add(rpc(own, "eth_chainId"))
        # Gateway, chain node, etcd client and peer ports: each bound to the namespace's address, none to loopback.
        ports = {f"{nets.ip(i)}:{port}" for port in (GATEWAY_PORT, CHAIN_PORT, 2379, 2380)}
        assert listening(nets, i) == ports, name
    assert len(chain_ids) == 1


def test_the_demos_hetero_lr_job_runs_to_finalized_across_the_namespaces(hosts: CrossHost) -> None:
    job_id = hosts.hetero_lr_job

    assert hosts.demo.wait_final(hosts.members["regulator"], job_id) == JobStatus.FINALIZED

    assert_sealed_by_a_quorum_on_every_node(hosts, job_id)
    jobs = hosts.members["regulator"].jobs
    _, _, attesters = jobs.job_parties(job_id)
    assert len(attesters) == 4 and all(jobs.has_attested(job_id, a) for a in attesters)
    epoch = hosts.demo.progress.reached("bank", "round", job_id)
    # The guest's epoch, streamed by the bank's gateway.
    assert epoch is not None and epoch["metrics"]["loss"] > 0, hosts.demo.progress.events("bank", job_id)


def test_a_psi_job_runs_to_finalized_across_the_namespaces(hosts: CrossHost) -> None:
    job_id = open_psi(hosts)
    hosts.demo.follow(job_id, ("bank", "invoice-firm", "compute-node"))

    assert hosts.demo.wait_final(hosts.members["regulator"], job_id) == JobStatus.FINALIZED

    assert_sealed_by_a_quorum_on_every_node(hosts, job_id)
    assert hosts.members["regulator"].jobs.has_attested(job_id, hosts.members["invoice-firm"].address)


def test_a_runner_killed_mid_protocol_is_aborted_around_and_restarts_onto_the_chains_word(hosts: CrossHost) -> None:
    demo, regulator = hosts.demo, hosts.members["regulator"]
    job_id, before = mid_protocol_job(hosts)

    demo.gateway_processes["invoice-firm"].kill()  # its runner dies with its protocol state
    demo.gateway_processes["invoice-firm"].wait(timeout=30)
    # The parties still up time out on it and abort: a named abort, never a commit.
    assert demo.wait_final(regulator, job_id) == JobStatus.ABORTED
    demo.start_gateways(None, parties=("invoice-firm",), network=hosts.network)

    assert abort_reason(hosts, job_id).startswith(b"PROTOCOL ")
    job = regulator.jobs.job(job_id)
    assert job.result_hash == b"\0" * 32 and job.attestations == 0
    assert regulator.settlement.escrow_of(job_id) == 0
    paid = {name: credits(hosts)[name] - before[name] for name in PARTIES}
    assert sum(paid.values()) == job.budget  # every unit of the escrow went somewhere, none twice
    # The restarted runner takes the chain's word: the job is over, so it keeps no result of it.
    invoice = demo.folder / "parties" / "invoice-firm"
    assert ResultStore(invoice).load(job_id) is None


def test_a_link_down_mid_protocol_ends_in_a_named_abort_on_chain_and_the_escrow_is_paid_out(hosts: CrossHost) -> None:
    demo, regulator = hosts.demo, hosts.members["regulator"]
    job_id, before = mid_protocol_job(hosts)

    hosts.network.down("card-network")  # its gateway, its runner and its chain access all cut at once

    assert demo.wait_final(regulator, job_id) == JobStatus.ABORTED
    assert abort_reason(hosts, job_id).startswith(b"PROTOCOL ")
    job = regulator.jobs.job(job_id)
    assert job.result_hash == b"\0" * 32 and regulator.settlement.escrow_of(job_id) == 0
    paid = {name: credits(hosts)[name] - before[name] for name in PARTIES}
    assert sum(paid.values()) == job.budget and paid["bank"] > 0  # the requester gets back what no one earned
    assert regulator.jobs.has_consented(job_id, 1)  # the restarted invoice firm's runner took part again
