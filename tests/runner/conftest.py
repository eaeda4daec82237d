"""A small consortium on a real chain node process, and runners played in this process (one thread each)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from compute.jobs.runner import JobRunner, Progress
from compute.jobs.workspace import Workspace
from compute.psi.rsa import PROTOCOL as PSI_PROTOCOL
from custos.demo import Demo
from ledger.bindings import JobStatus
from ledger.keystore import DEV_PASSWORD
from ledger.member import MemberLedger
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

    def start(self, name: str, **options: Any) -> Started:
        """Run `name`'s JobRunner in a thread until the test ends (or `halt`)."""
        events: list[Progress] = []
        workspace = self.workspace(name)
        runner = JobRunner(
            workspace, workspace.member(DEV_PASSWORD), on_progress=events.append, protocol_timeout=20.0, **options
        )
        stop = threading.Event()
        thread = threading.Thread(target=runner.run, args=(stop,), kwargs={"poll": 0.2}, daemon=True, name=name)
        started = Started(runner, stop, thread, events)
        thread.start()
        self.started.append(started)
        return started

    def open_psi(self, sources: tuple[int, int] = (0, 1)) -> int:
        """The bank opens a small PSI job on two sources; its id."""
        document = {"protocol": PSI_PROTOCOL, "sources": list(sources)}
        return self.demo.open_with(self.members["bank"], JobKind.PSI, document, sources)

    def wait_status(self, job_id: int, wanted: Callable[[JobStatus], bool], timeout: float, what: str) -> JobStatus:
        """Poll the chain (as the regulator) until job `job_id`'s status satisfies `wanted`."""
        jobs = self.members["regulator"].jobs
        return wait_for(lambda: (lambda s: s if wanted(s) else None)(jobs.job(job_id).status), timeout, what)

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
