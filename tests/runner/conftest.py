"""A small consortium on a real chain node process, and runners played in this process (one thread each)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from compute.jobs.runner import JobRunner, Progress
from compute.jobs.workspace import Workspace
from compute.psi.rsa import PROTOCOL as PSI_PROTOCOL
from compute.result import canonical_json
from compute.stats.protocol import PROTOCOL as STATS_PROTOCOL
from custos.demo import Demo
from custos.demo_processes import child_env, wait_rpc
from ledger.bindings import JobStatus
from ledger.keystore import DEV_PASSWORD
from ledger.member import MemberLedger
from ledger.merkle import leaf_hash
from ledger.protocol import JobKind
from tests.small_demo import small_demo_config
from tests.waiting import wait_for

FINAL = (JobStatus.FINALIZED, JobStatus.REFUNDED, JobStatus.CANCELLED, JobStatus.ABORTED)


@dataclass
class Started:
    """One runner thread: the runner, its stop switch, and every progress event it reported."""

    runner: JobRunner
    stop: threading.Event
    thread: threading.Thread
    events: list[Progress] = field(default_factory=list)

    def stages(self, job_id: int) -> list[str]:
        """The stages this runner reported for `job_id`, in order."""
        return [e.stage for e in list(self.events) if e.job_id == job_id]

    def halt(self) -> None:
        """Stop the loop, wait for it, and close the runner."""
        self.stop.set()
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), f"runner {self.runner.workspace.name} did not stop within 60 s"
        self.runner.close()


@dataclass
class Consortium:
    """The demo's organisations, registered sources (bank 0, invoice-firm 1, card-network 2) and a node."""

    demo: Demo
    members: dict[str, MemberLedger]
    sources: dict[str, int]
    started: list[Started] = field(default_factory=list)

    def workspace(self, name: str) -> Workspace:
        """The workspace of organisation `name`."""
        return Workspace.load(self.demo.folder / "parties" / name)

    def start(self, name: str, runner_class: type[JobRunner] = JobRunner, **options: Any) -> Started:
        """Run `name`'s runner (a JobRunner, or a test double of one) in a thread until the test ends (or `halt`)."""
        events: list[Progress] = []
        workspace = self.workspace(name)
        options = {"protocol_timeout": 20.0} | options
        runner = runner_class(workspace, workspace.member(DEV_PASSWORD), on_progress=events.append, **options)
        stop = threading.Event()
        thread = threading.Thread(target=runner.run, args=(stop,), kwargs={"poll": 0.2}, daemon=True, name=name)
        started = Started(runner, stop, thread, events)
        thread.start()
        self.started.append(started)
        return started

    def open_psi(self, sources: tuple[int, int] = (0, 1), named: tuple[int, int] | None = None) -> int:
        """The bank opens a small PSI job on two sources (its document naming `named`, default the same); its id."""
        document = {"protocol": PSI_PROTOCOL, "sources": list(named or sources)}
        return self.demo.open_with(self.members["bank"], JobKind.PSI, document, sources)

    def open_stats(self) -> int:
        """The bank opens secure statistics over its source and the card network's; its id."""
        document = {
            "protocol": STATS_PROTOCOL,
            "sources": [0, 2],
            "columns": {"0": "years_in_business", "2": "card_revenue"},
        }
        return self.demo.open_with(self.members["bank"], JobKind.SECURE_STATS, document, (0, 2))

    def wait_status(self, job_id: int, wanted: Callable[[JobStatus], bool], timeout: float, what: str) -> JobStatus:
        """Poll the chain (as the regulator) until job `job_id`'s status satisfies `wanted`."""
        jobs = self.members["regulator"].jobs
        return wait_for(lambda: (lambda s: s if wanted(s) else None)(jobs.job(job_id).status), timeout, what)

    def stop_node(self) -> str:
        """Terminate the chain node process; its RPC URL (to restart it at)."""
        node = self.demo.processes[0]
        node.terminate()
        node.wait(timeout=30)
        return str(self.members["regulator"].sender.w3.provider.endpoint_uri)  # type: ignore[attr-defined]  # an HTTPProvider

    def start_node(self, rpc: str) -> None:
        """Start the chain node again on its folder and port, and wait until it answers."""
        port = rpc.rsplit(":", 1)[1]
        command = [sys.executable, "-m", "custos", "chain", "up", str(self.demo.chain), "--port", port]
        log = (self.demo.folder / "node-restarted.log").open("a")
        node = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=child_env())
        self.demo.processes[0] = node
        wait_rpc(rpc, node)

    def audit_path(self, name: str, job_id: int) -> Path:
        """Where organisation `name` keeps its audit records of job `job_id`."""
        return self.workspace(name).folder / "audit" / f"{job_id}.json"

    def audit_records(self, job_id: int, name: str) -> list[dict[str, Any]]:
        """`name`'s anchored records of the job, each checked against its leaf and on chain (AuditAnchor)."""
        path = self.audit_path(name, job_id)
        document = json.loads(wait_for(lambda: path.is_file() and path.read_text(), 60, f"{name}'s audit file"))
        assert document["anchored"] is True, document
        anchor = self.members["regulator"].anchor
        for entry in document["records"]:
            proof = entry["proof"]
            leaf = bytes.fromhex(proof["leaf"][2:])
            assert leaf_hash(canonical_json(entry["record"])) == leaf
            path_ = [bytes.fromhex(h[2:]) for h in proof["proof"]]
            assert anchor.verify_record(proof["batch_id"], path_, leaf), entry
            assert anchor.batch(proof["batch_id"]).root.hex() == proof["root"][2:]
        return [entry["record"] for entry in document["records"]]

    def wait_final(self, job_id: int, timeout: float = 120.0) -> JobStatus:
        """The final status of job `job_id`."""
        return self.wait_status(job_id, lambda s: s in FINAL, timeout, f"job {job_id} to be final")


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    """A chain node process with the demo's members and three registered sources."""
    demo = Demo(small_demo_config(tmp_path_factory.mktemp("runner") / "demo"), lambda line: None)
    try:
        rpc = demo.start_chain()
        members = demo.members(rpc)
        sources = demo.register_sources(rpc, members)
        yield Consortium(demo, members, sources)
    finally:
        demo.stop()


@pytest.fixture
def runners(consortium: Consortium) -> Iterator[Consortium]:
    """The consortium; every runner a test starts is stopped at its end."""
    yield consortium
    for started in consortium.started:
        if started.thread.is_alive():
            started.halt()
    consortium.started.clear()
