"""Each organisation's own audit records of a job, anchored on chain so an auditor can date them.

A runner records when it read one of its sources for a job (`data-access`: source, version,
the commitment root and row count it checked) and when a job failed on its side (`failure`:
the reason it aborted with). Records go to the job's own `ledger.anchor.Anchorer` store in the
workspace (`audit/records/<job id>.db`) the moment they happen; when the job is final on chain
its records are anchored with one `AuditAnchor.anchorJobRecords(jobId, root, count)` transaction,
and `audit/<job id>.json` keeps each record with its inclusion proof. Anyone holding that file
can check a record against the root the chain holds (`AuditAnchor.verifyRecord`) and date it by
the anchoring block. A record is canonical JSON, so its leaf is the keccak of exactly the bytes
in the file.

Every member that takes part in the job (its requester, a source owner, a compute party) may
anchor its own records of it, whatever its roles: AuditAnchor asks JobLedger. The batches are
filed under the job's tag in the member's own namespace, so an auditor finds them by (member,
job): `AuditAnchor.batchesOf(member, jobRecordsTag(jobId))`. The contract takes at most
`MAX_JOB_BATCHES` (4) batches per (member, job); a runner uses one per job. When the contract
refuses (the member was removed since, the limit is reached) the records stay in the store and
the file says `"anchored": false` with the reason; when the node is away the step is retried.
The next start of the runner anchors whatever an ended job left unanchored.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from compute.result import canonical_json
from ledger.anchor import Anchorer, InclusionProof, RootSink
from ledger.bindings.audit_anchor import job_records_tag
from ledger.errors import AnchorError, ContractRevert


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

    def __init__(self, folder: Path, sink_for: Callable[[int], RootSink], organisation: str) -> None:
        """Records under `folder/audit`; `sink_for(job_id)` anchors one job's roots (`AuditAnchor.job_sink`)."""
        self.folder = folder / "audit"
        self.organisation, self._sink_for = organisation, sink_for
        self._stores: dict[int, Anchorer] = {}
        self._locks: dict[int, threading.Lock] = {}
        self._lock = threading.Lock()  # guards the two dicts; each job's store has its own lock

    def close(self) -> None:
        """Close the stores (records not yet anchored stay in them, anchored at the next `anchor_pending`)."""
        with self._lock:
            for store in self._stores.values():
                store.close()
            self._stores.clear()

    def add(self, job_id: int, kind: str, **fields: Any) -> None:
        """Store one record of `kind` about job `job_id` now (durably; anchored when the job ends)."""
        record = {"job_id": job_id, "kind": kind, "organisation": self.organisation, "at": int(time.time()), **fields}
        with self._job_lock(job_id):
            self._store(job_id).add(canonical_json(record))

    def anchor_pending(self, ended: Callable[[int], bool]) -> None:
        """Anchor the records of every job that `ended` says is over and a previous run left unanchored."""
        folder = self.folder / "records"
        stored = sorted(int(p.stem) for p in folder.glob("*.db") if p.stem.isdigit()) if folder.is_dir() else []
        for job_id in stored:
            if not self._anchored(job_id) and ended(job_id):
                self.close_job(job_id)

    def close_job(self, job_id: int) -> Path | None:
        """Anchor the job's records and write `audit/<job id>.json` with their proofs; None if it has none.

        A refusal by the contract is written into the file (`"anchored": false`, `anchor_error`); any
        other `AnchorError` (the node away) propagates, the records kept for the caller's retry.
        """
        with self._job_lock(job_id):
            if job_id not in self._stores and not self._store_path(job_id).is_file():
                return None
            store = self._store(job_id)
            error = None
            try:
                store.flush()  # one transaction for the job's records
            except AnchorError as exc:
                if not isinstance(exc.__cause__, ContractRevert):
                    raise
                error = str(exc)
            entries = [_entry(store, record_id) for record_id in range(1, store.count() + 1)]
            with self._lock:
                self._stores.pop(job_id).close()
        anchored = all(entry["proof"] is not None for entry in entries)
        document: dict[str, Any] = {"job_id": job_id, "organisation": self.organisation, "anchored": anchored}
        if error is not None:
            document["anchor_error"] = error
        path = self.folder / f"{job_id}.json"
        path.write_bytes(canonical_json(document | {"records": entries}))
        return path

    def _store_path(self, job_id: int) -> Path:
        return self.folder / "records" / f"{job_id}.db"

    def _store(self, job_id: int) -> Anchorer:
        """The job's store, opened once (the caller holds the job's lock)."""
        with self._lock:
            store = self._stores.get(job_id)
        if store is None:
            self._store_path(job_id).parent.mkdir(parents=True, exist_ok=True)
            store = Anchorer(self._store_path(job_id), self._sink_for(job_id), tag=job_records_tag(job_id))
            with self._lock:
                self._stores[job_id] = store
        return store

    def _job_lock(self, job_id: int) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(job_id, threading.Lock())

    def _anchored(self, job_id: int) -> bool:
        """Whether `audit/<job id>.json` already holds every record with its proof."""
        path = self.folder / f"{job_id}.json"
        try:
            return bool(json.loads(path.read_bytes())["anchored"])
        except (OSError, ValueError, KeyError):
            return False


def _entry(store: Anchorer, record_id: int) -> dict[str, Any]:
    """A record and its proof (None while it is in no anchored batch)."""
    try:
        proof: dict[str, Any] | None = proof_json(store.proof(record_id))
    except AnchorError:
        proof = None
    return {"record": json.loads(store.record(record_id)), "proof": proof}
