"""A runner as a long-lived process: unlock the key, serve the endpoint, advance jobs, save results.

Progress goes to standard output as one JSON object per line, so a supervisor (the demo,
a service manager, the gateway) can follow it; result bundles of finished runs are saved
in the workspace as `results/<job id>.json`.
"""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

from compute.jobs.runner import JobRunner, Progress
from compute.jobs.workspace import Workspace
from compute.result import canonical_json


def _emit(event: Progress) -> None:
    print(
        json.dumps({"job": event.job_id, "party": event.party, "stage": event.stage, "detail": event.detail}),
        flush=True,
    )


def save_results(runner: JobRunner) -> None:
    """Write each finished run's result bundle (the shared result plus this party's metadata)."""
    folder = runner.workspace.folder / "results"
    folder.mkdir(exist_ok=True)
    for job_id, outcome in runner.outcomes().items():
        if outcome.result_hash is None:
            continue  # a run without a result was aborted on chain; there is nothing to keep
        value = outcome.value
        if isinstance(value, dict):
            result = value.get("result", value.get("summary"))  # FedAvg's aggregator keeps a summary
        elif hasattr(value, "to_json"):
            result = value.to_json()
        else:
            result = value if isinstance(value, (list, int, float, str)) else None  # e.g. a PSI intersection
        bundle = {
            "job_id": job_id,
            "result": result,
            "result_hash": "0x" + outcome.result_hash.hex(),
            "transcript_root": "0x" + outcome.transcript.root.hex(),
            "transcript_entries": len(outcome.transcript.entries),
            "metadata": {k: v for k, v in outcome.metadata.items() if isinstance(v, (int, float, str))},
        }
        (folder / f"{job_id}.json").write_bytes(canonical_json(bundle))


def run_party(
    workspace_dir: Path,
    job: int | None = None,
    port: int = 0,
    protocol_timeout: float = 120.0,
    *,
    host: str = "127.0.0.1",
    public_url: str | None = None,
) -> int:
    """Run the party of `workspace_dir` until stopped (or until `job` is final for it)."""
    workspace = Workspace.load(workspace_dir)
    member = workspace.member()
    runner = JobRunner(
        workspace,
        member,
        on_progress=_emit,
        host=host,
        port=port,
        public_url=public_url,
        protocol_timeout=protocol_timeout,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    _emit(Progress(job if job is not None else -1, workspace.name, "up", runner.url))
    try:
        runner.run(stop, only=job)
    except KeyboardInterrupt:
        pass
    finally:
        save_results(runner)
        runner.close()
    return 0
