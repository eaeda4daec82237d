"""A runner as a long-lived process: unlock the key, serve the endpoint, advance jobs, save results.

Progress goes to standard output as one JSON object per line, so a supervisor (the demo,
a service manager) can follow it; each checked result bundle is saved in the workspace as
`results/<job id>.json` as soon as the job is committed (see compute.bundle).
"""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compute.jobs.following import Backoff
from compute.jobs.workspace import Workspace
from compute.result import canonical_json
from compute.session import PartyOutcome
from ledger.errors import ConnectionFailed
from ledger.member import MemberLedger

if TYPE_CHECKING:  # the runner saves bundles through this module: import it at run time only
    from compute.jobs.runner import Progress


def _emit(event: Progress) -> None:
    print(
        json.dumps({"job": event.job_id, "party": event.party, "stage": event.stage, "detail": event.detail}),
        flush=True,
    )


def save_result(folder: Path, job_id: int, bundle: dict[str, Any], outcome: PartyOutcome) -> Path:
    """Write a committed job's checked result bundle, and this party's own private output beside it.

    `results/<job id>.json` holds hashes and numbers only (the gateway serves it to the job's
    participants and to auditors); `results/<job id>.output.json` holds what only this party
    may see (e.g. a PSI intersection) and is never served. Each file is written whole and then
    renamed into place, so a reader never sees half of one; the output lands before the bundle.
    """
    results = folder / "results"
    results.mkdir(exist_ok=True)
    if bundle["result"] is None and isinstance(outcome.value, (list, int, float, str)):
        _write_whole(results / f"{job_id}.output.json", canonical_json(outcome.value))
    path = results / f"{job_id}.json"
    _write_whole(path, canonical_json(bundle))
    return path


def _write_whole(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def run_party(
    workspace_dir: Path,
    job: int | None = None,
    port: int = 0,
    protocol_timeout: float = 120.0,
    *,
    host: str = "127.0.0.1",
    public_url: str | None = None,
) -> int:
    """Run the party of `workspace_dir` until stopped (or until `job` is final for it).

    A node that is not there yet, or goes away, is waited for (capped backoff): it never ends the process.
    """
    from compute.jobs.runner import JobRunner, Progress

    workspace = Workspace.load(workspace_dir)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        member = _connect(workspace, stop)
        if member is None:
            return 0
        runner = JobRunner(
            workspace,
            member,
            on_progress=_emit,
            host=host,
            port=port,
            public_url=public_url,
            protocol_timeout=protocol_timeout,
        )
        _emit(Progress(job if job is not None else -1, workspace.name, "up", runner.url))
        try:
            runner.run(stop, only=job)
        finally:
            runner.close()
    except KeyboardInterrupt:
        pass
    return 0


def _connect(workspace: Workspace, stop: threading.Event) -> MemberLedger | None:
    """The workspace's member ledger, retrying while the node does not answer; None if stopped first."""
    from compute.jobs.runner import Progress

    backoff = Backoff()
    while not stop.is_set():
        try:
            return workspace.member()  # type: ignore[no-any-return]  # Workspace.member is typed Any to keep ledger imports lazy
        except ConnectionFailed as exc:
            _emit(Progress(-1, workspace.name, "node-unreachable", str(exc)))
            stop.wait(backoff.failed())
    return None
