"""Following a job runner process: its JSON progress lines become live progress on the bus.

`custos runner up` prints one JSON object per step (`{"job", "party", "stage", "detail"}`)
and saves result bundles in its workspace; the gateway supervises it, reads those lines and
serves the bundles. A line that does not parse is skipped: progress is advisory, the chain
is the record.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gateway.progress import ProgressBus, runner_listener
from ledger.bounded_json import loads


@dataclass(frozen=True)
class RunnerStep:
    """One step as the runner reports it."""

    job_id: int
    party: str
    stage: str
    detail: str


def follow(lines: Iterable[str], bus: ProgressBus) -> int:
    """Publish every runner step in `lines` on `bus` (until the lines end); how many were published."""
    publish, count = runner_listener(bus), 0
    for line in lines:
        try:
            raw = loads(line)
            step = RunnerStep(int(raw["job"]), str(raw["party"]), str(raw["stage"]), str(raw.get("detail", "")))
        except (ValueError, KeyError, TypeError):
            continue
        if step.job_id >= 0:  # the runner's own start-up line names no job
            publish(step)
            count += 1
    return count


def supervise(workspace: Path, bus: ProgressBus) -> subprocess.Popen[str]:
    """Start `custos runner up --workspace` and follow its progress on a background thread."""
    process = subprocess.Popen(
        [sys.executable, "-m", "custos", "runner", "up", "--workspace", str(workspace)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    threading.Thread(target=follow, args=(process.stdout, bus), name="runner-feed", daemon=True).start()
    return process
