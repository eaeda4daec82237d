"""This party's checked runs, kept on disk from the end of its protocol run until the job is final.

Committing and attesting need only what a run left: its result bundle (hashes and numbers,
re-derived and checked by `kinds.verified_bundle`) and this party's private output (a PSI
intersection, which stays with its owner). Kept in memory alone they died with the runner: a
runner restarted after its run could not sign (the job took the liveness path), and a compute
party restarted before committing had to abort the job. So the runner writes each checked run to
`<workspace>/runs/<job id>.json` (`write_durably`: whole or not at all, on disk before the
protocol step counts as done), reads it back after a restart, re-checks it (`verify_bundle`: a
file edited on disk is refused, never signed) and deletes it once the job is final (the result
bundle, if the job committed, is kept in `results/`). A run that does not check is never written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compute.bundle import verify_bundle
from compute.jobs.workspace import write_durably
from compute.result import canonical_json


@dataclass(frozen=True)
class CheckedRun:
    """A run read back from disk: its bundle, this party's private output (or None), and what does not check."""

    bundle: dict[str, Any]
    private_output: Any
    problems: tuple[str, ...]


class CheckedRuns:
    """A workspace's checked runs awaiting commit or attestation, by job id."""

    def __init__(self, workspace_folder: Path) -> None:
        self.folder = Path(workspace_folder) / "runs"

    def path(self, job_id: int) -> Path:
        """Where job `job_id`'s checked run is kept."""
        return self.folder / f"{int(job_id)}.json"

    def save(self, job_id: int, bundle: Mapping[str, Any], private_output: Any = None) -> None:
        """Keep job `job_id`'s checked run, durably."""
        write_durably(self.path(job_id), canonical_json({"bundle": dict(bundle), "private_output": private_output}))

    def load(self, job_id: int) -> CheckedRun | None:
        """Job `job_id`'s run as kept, re-checked; None if none is kept."""
        try:
            raw = self.path(job_id).read_bytes()
        except FileNotFoundError:
            return None
        try:
            kept = json.loads(raw)
            bundle = dict(kept["bundle"])
        except (ValueError, KeyError, TypeError):
            return CheckedRun({}, None, (f"the kept run {self.path(job_id)} is not a run this runner wrote",))
        return CheckedRun(bundle, kept.get("private_output"), tuple(verify_bundle(bundle)))

    def discard(self, job_id: int) -> None:
        """Forget job `job_id`'s run (the job is final)."""
        self.path(job_id).unlink(missing_ok=True)
