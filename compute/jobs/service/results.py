"""Result bundles: the one place that writes and reads them (`<workspace>/results/<job id>.json`).

A bundle is what a party keeps of a finished run: the shared result (or None where the
protocol gives this party nothing), the result hash and transcript root the chain holds,
and this party's metadata. The runner saves at commit; the gateway reads while it runs, so
a bundle is written to a temporary file and renamed: a reader sees all of it or nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from compute.errors import InvalidInput
from compute.result import canonical_json
from compute.session import PartyOutcome


def _shared_result(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("result", value.get("summary"))  # FedAvg's aggregator keeps a summary
    if hasattr(value, "to_json"):
        return value.to_json()
    return value if isinstance(value, (list, int, float, str)) else None  # e.g. a PSI intersection


def bundle_of(job_id: int, outcome: PartyOutcome) -> dict[str, Any] | None:
    """The bundle of one run; None for a run without a result (aborted on chain: nothing to keep)."""
    if outcome.result_hash is None:
        return None
    return {
        "job_id": job_id,
        "result": _shared_result(outcome.value),
        "result_hash": "0x" + outcome.result_hash.hex(),
        "transcript_root": "0x" + outcome.transcript.root.hex(),
        "transcript_entries": len(outcome.transcript.entries),
        "metadata": {k: v for k, v in outcome.metadata.items() if isinstance(v, (int, float, str))},
    }


class ResultStore:
    """A workspace's result bundles."""

    def __init__(self, workspace_folder: Path) -> None:
        self.folder = Path(workspace_folder) / "results"

    def path(self, job_id: int) -> Path:
        """Where job `job_id`'s bundle is kept."""
        return self.folder / f"{int(job_id)}.json"

    def save(self, job_id: int, outcome: PartyOutcome) -> Path | None:
        """Write the bundle of `outcome` (atomically); None when the run has no result to keep."""
        bundle = bundle_of(job_id, outcome)
        if bundle is None:
            return None
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path(job_id)
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        partial.write_bytes(canonical_json(bundle))
        partial.replace(target)
        return target

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
