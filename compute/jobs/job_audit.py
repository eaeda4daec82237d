"""Each organisation's own audit records of a job, anchored on chain so an auditor can date them.

A runner records when it read one of its sources for a job (`data-access`: source, version,
the commitment root and row count it checked) and when a job failed on its side (`failure`:
the reason it aborted with). Records go to an `ledger.anchor.Anchorer` store in the workspace
(`anchor.db`) the moment they happen; when the job is final for this party the pending records
are anchored with one `AuditAnchor.anchor` transaction, and `audit/<job id>.json` keeps each
record with its inclusion proof. Anyone holding that file can check a record against the
root the chain holds (`AuditAnchor.verifyRecord`) and date it by the anchoring block. A record
is canonical JSON, so its leaf is the keccak of exactly the bytes in the file.

The AuditAnchor contract accepts roots from AUDITOR and VALIDATOR members only. A member with
neither role still writes `audit/<job id>.json`, its records without proofs and `"anchored":
false`, so nothing is lost; its records become provable once governance grants it a role.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth_utils import keccak

from compute.result import canonical_json
from ledger.anchor import Anchorer, InclusionProof, RootSink

TAG = keccak(b"custos.job-records.v1")  # the AuditAnchor tag of these batches: auditors filter by it


def proof_json(proof: InclusionProof) -> dict[str, Any]:
    """An inclusion proof as JSON (hex strings)."""
    return {
        "record_id": proof.record_id,
        "batch_id": proof.batch_id,
        "leaf": "0x" + proof.leaf.hex(),
        "proof": ["0x" + p.hex() for p in proof.proof],
        "root": "0x" + proof.root.hex(),
        "tx_hash": "0x" + proof.tx_hash.hex() if proof.tx_hash else None,
        "block_number": proof.block_number,
    }


class JobAudit:
    """One organisation's data-access and failure records, per job, anchored when the job ends."""

    def __init__(self, folder: Path, sink: RootSink, organisation: str, may_anchor: Callable[[], bool]) -> None:
        """Records in `folder`; `may_anchor` asks the chain whether this member's roles let it anchor now."""
        self.folder = folder / "audit"
        self.organisation, self.may_anchor = organisation, may_anchor
        self._anchorer = Anchorer(folder / "anchor.db", sink, tag=TAG)
        self._records: dict[int, list[int]] = {}
        self._lock = threading.Lock()  # one SQLite store, written from every job's worker

    def close(self) -> None:
        """Close the store (records not yet anchored stay in it, anchored at the next `anchor_pending`)."""
        with self._lock:
            self._anchorer.close()

    def add(self, job_id: int, kind: str, **fields: Any) -> None:
        """Store one record of `kind` about job `job_id` now (durably; anchored when the job ends)."""
        record = {"job_id": job_id, "kind": kind, "organisation": self.organisation, "at": int(time.time()), **fields}
        with self._lock:
            record_id, _ = self._anchorer.add(canonical_json(record))
            self._records.setdefault(job_id, []).append(record_id)

    def anchor_pending(self) -> None:
        """Anchor whatever a previous run stored but did not anchor (a crash, the node away at the end)."""
        if self.may_anchor():
            with self._lock:
                self._anchorer.flush()

    def close_job(self, job_id: int) -> Path | None:
        """Anchor the job's records and write `audit/<job id>.json` with their proofs; None if it has none."""
        with self._lock:
            ids = self._records.get(job_id)
            if not ids:
                return None
            anchored = self.may_anchor()
            if anchored:
                self._anchorer.flush()  # one transaction; an AnchorError leaves the records stored for a retry
            entries = [
                {
                    "record": json.loads(self._anchorer.record(i)),
                    "proof": proof_json(self._anchorer.proof(i)) if anchored else None,
                }
                for i in ids
            ]
            self._records.pop(job_id)
        self.folder.mkdir(exist_ok=True)
        path = self.folder / f"{job_id}.json"
        document = {"job_id": job_id, "organisation": self.organisation, "anchored": anchored}
        path.write_bytes(canonical_json(document | {"records": entries}))
        return path
