"""Job runner throughput: jobs per minute one organisation's runner sustains, 10 PSI jobs at once vs one by one.

The demo consortium on a real chain node process (300 businesses per source); the bank, the
invoice firm and the compute node each run one `JobRunner` in this process (threads, HTTP on
loopback). The bank opens small PSI jobs on its source and the invoice firm's; a job counts
once it is Finalized (run, committed, attested by all three, challenge window passed,
escrow split). Baseline, same run: the same runners given one job at a time.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from report import emit

from compute.jobs.runner import JobRunner
from compute.jobs.workspace import Workspace
from compute.psi.rsa import PROTOCOL as PSI
from custos.demo import Demo, DemoConfig
from ledger.bindings import JobStatus
from ledger.keystore import DEV_PASSWORD
from ledger.member import MemberLedger
from ledger.protocol import JobKind

PARALLEL = 10
SEQUENTIAL = 3
PARTIES = ("bank", "invoice-firm", "compute-node")
FINAL = {JobStatus.FINALIZED, JobStatus.REFUNDED, JobStatus.CANCELLED, JobStatus.ABORTED}


def wait_all_final(auditor: MemberLedger, job_ids: list[int], timeout: float) -> None:
    """Poll until every job is final; RuntimeError naming the stragglers after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    waiting = list(job_ids)
    while waiting:
        statuses = {j: auditor.jobs.job(j).status for j in waiting}
        if any(s in FINAL and s != JobStatus.FINALIZED for s in statuses.values()):
            raise RuntimeError(f"a job ended without finalising: {statuses}")
        waiting = [j for j, s in statuses.items() if s not in FINAL]
        if waiting and time.monotonic() > deadline:
            raise RuntimeError(f"jobs {waiting} not final after {timeout:.0f} s")
        time.sleep(0.1)


def jobs_per_minute(demo: Demo, bank: MemberLedger, auditor: MemberLedger, count: int, at_once: bool) -> float:
    """Open `count` PSI jobs (all at once, or each after the previous is final); jobs per minute."""
    document = {"protocol": PSI, "sources": [0, 1]}
    start = time.perf_counter()
    if at_once:
        wait_all_final(auditor, [demo.open_with(bank, JobKind.PSI, document, (0, 1)) for _ in range(count)], 600)
    else:
        for _ in range(count):
            wait_all_final(auditor, [demo.open_with(bank, JobKind.PSI, document, (0, 1))], 300)
    return count / (time.perf_counter() - start) * 60


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        config = DemoConfig(folder=Path(folder) / "demo", businesses=300, budget=100, protocol_timeout=30)
        demo = Demo(config, lambda line: None)
        stop = threading.Event()
        runners: list[tuple[JobRunner, threading.Thread]] = []
        try:
            rpc = demo.start_chain()
            members = demo.members(rpc)
            demo.register_sources(rpc, members)
            for name in PARTIES:
                workspace = Workspace.load(demo.folder / "parties" / name)
                runner = JobRunner(workspace, workspace.member(DEV_PASSWORD), protocol_timeout=60)
                thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
                thread.start()
                runners.append((runner, thread))
            bank, auditor = members["bank"], members["regulator"]
            sequential = jobs_per_minute(demo, bank, auditor, SEQUENTIAL, at_once=False)
            parallel = jobs_per_minute(demo, bank, auditor, PARALLEL, at_once=True)
            emit(f"runner_psi_jobs_{PARALLEL}_parallel", parallel, "jobs/min", "one_job_at_a_time", sequential)
        finally:
            stop.set()
            for runner, thread in runners:
                thread.join(timeout=120)
                runner.close()
            demo.stop()


if __name__ == "__main__":
    main()
