"""A runner as a long-lived process: unlock the key, serve the endpoint, advance jobs, save results.

Progress goes to standard output as one JSON object per line, so a supervisor (the demo,
a service manager, the gateway) can follow it; result bundles of finished runs are saved
in the workspace as `results/<job id>.json` (see compute.bundle).
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from compute.jobs.runner import JobRunner, Progress
from compute.jobs.service.results import ResultStore
from compute.jobs.workspace import Workspace


def _emit(event: Progress) -> None:
    print(
        json.dumps({"job": event.job_id, "party": event.party, "stage": event.stage, "detail": event.detail}),
        flush=True,
    )


def save_results(runner: JobRunner) -> None:
    """Write each finished run's checked result bundle, and this party's own private output beside it.

    `results/<job id>.json` holds hashes and numbers only (the gateway serves it to the job's
    participants and to auditors); `results/<job id>.output.json` holds what only this party
    may see (e.g. a PSI intersection) and is never served.
    """
    store = ResultStore(runner.workspace.folder)
    for job_id, outcome in runner.outcomes().items():
        bundle = runner.result_bundle(job_id)
        if bundle is None:
            continue  # a run this party could not vouch for was aborted, disputed or left unsigned
        private = outcome.value if isinstance(outcome.value, (list, int, float, str)) else None
        store.save(job_id, bundle, private if bundle["result"] is None else None)


def run_party(
    workspace_dir: Path,
    job: int | None = None,
    port: int = 0,
    protocol_timeout: float = 120.0,
    on_progress: Callable[[Progress], None] = _emit,
) -> int:
    """Run the party of `workspace_dir` until stopped (or until `job` is final for it); progress to `on_progress`."""
    workspace = Workspace.load(workspace_dir)
    member = workspace.member()
    runner = JobRunner(workspace, member, on_progress=on_progress, port=port, protocol_timeout=protocol_timeout)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    on_progress(Progress(job if job is not None else -1, workspace.name, "up", runner.server.url))
    try:
        runner.run(stop, only=job)
    except KeyboardInterrupt:
        pass
    finally:
        save_results(runner)
        runner.close()
    return 0
