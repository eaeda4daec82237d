"""Result bundles: the one place that writes and reads them (`<workspace>/results/<job id>.json`).

A bundle (built and checked by `compute.bundle` / `compute.jobs.kinds.verified_bundle`)
holds hashes and numbers only; the gateway serves it to the job's participants and to
auditors. A party's private output (a PSI intersection) goes beside it, as
`<job id>.output.json`, and is never served. The runner saves while the gateway reads, so
each file is written durably (`workspace.write_durably`): a reader sees all of it or nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from compute.errors import InvalidInput
from compute.jobs.workspace import write_durably
from compute.result import canonical_json


class ResultStore:
    """A workspace's result bundles, and each party's private outputs beside them."""

    def __init__(self, workspace_folder: Path) -> None:
        self.folder = Path(workspace_folder) / "results"

    def path(self, job_id: int) -> Path:
        """Where job `job_id`'s bundle is kept."""
        return self.folder / f"{int(job_id)}.json"

    def output_path(self, job_id: int) -> Path:
        """Where this party's private output of job `job_id` is kept (never served)."""
        return self.folder / f"{int(job_id)}.output.json"

    def save(self, job_id: int, bundle: Mapping[str, Any], private_output: Any = None) -> Path:
        """Write job `job_id`'s bundle (and this party's private output, if any), each atomically."""
        if private_output is not None:
            write_durably(self.output_path(job_id), canonical_json(private_output))
        write_durably(self.path(job_id), canonical_json(dict(bundle)))
        return self.path(job_id)

    def load(self, job_id: int) -> dict[str, Any] | None:
        """The bundle of job `job_id`, or None if this workspace has none; InvalidInput if it is not JSON."""
        try:
            raw = self.path(job_id).read_bytes()
        except FileNotFoundError:
            return None
        try:
            bundle: dict[str, Any] = json.loads(raw)
        except ValueError:
            raise InvalidInput(f"the result bundle {self.path(job_id)} is not JSON") from None
        return bundle
