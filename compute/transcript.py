"""A job's transcript: the hash of every protocol message, as a Merkle tree; and failure records.

Each message contributes one entry (sender, receiver, sequence, step, keccak(envelope)); the
tree's leaves are `ledger.merkle.leaf_hash(message_hash)` in (sender, receiver, seq) order, so
every party that saw the same messages computes the same root, and any message can be proven
against the committed root with an OpenZeppelin-compatible proof.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ledger.merkle import MerkleTree, leaf_hash


@dataclass(frozen=True, order=True)
class TranscriptEntry:
    """One message as the transcript records it."""

    sender: str
    receiver: str
    seq: int
    step: str
    message_hash: bytes

    @property
    def leaf(self) -> bytes:
        """The Merkle leaf of this message."""
        return leaf_hash(self.message_hash)

    def to_json(self) -> dict[str, object]:
        """A JSON-ready form."""
        return {
            "sender": self.sender,
            "receiver": self.receiver,
            "seq": self.seq,
            "step": self.step,
            "hash": self.message_hash.hex(),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> TranscriptEntry:
        """Parse `to_json` output."""
        return cls(
            str(data["sender"]),
            str(data["receiver"]),
            int(str(data["seq"])),
            str(data["step"]),
            bytes.fromhex(str(data["hash"])),
        )


@dataclass(frozen=True)
class Transcript:
    """An ordered, de-duplicated set of message entries and its Merkle root."""

    entries: tuple[TranscriptEntry, ...]

    @classmethod
    def of(cls, entries: Iterable[TranscriptEntry]) -> Transcript:
        """The transcript of `entries` (duplicates merged, canonical order)."""
        return cls(tuple(sorted(set(entries), key=lambda e: (e.sender, e.receiver, e.seq))))

    @property
    def tree(self) -> MerkleTree:
        """The Merkle tree over the entries' leaves."""
        return MerkleTree.from_leaves([e.leaf for e in self.entries])

    @property
    def root(self) -> bytes:
        """The Merkle root a run commits."""
        return self.tree.root

    def proof(self, entry: TranscriptEntry) -> list[bytes]:
        """Inclusion proof of `entry` against `root`."""
        return self.tree.proof(self.entries.index(entry))

    def __len__(self) -> int:
        return len(self.entries)


@dataclass(frozen=True)
class FailureRecord:
    """An aborted run as the audit trail records it: who failed, at which step, and why."""

    job_id: int
    protocol: str
    step: str
    party: str
    error: str
    detail: str
    reported_by: str
    at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, object]:
        """A JSON-ready form."""
        return asdict(self)


class FailureLog:
    """Append-only record of failures, kept in memory and optionally as JSON lines on disk."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._records: list[FailureRecord] = []
        self._lock = threading.Lock()

    def record(self, failure: FailureRecord) -> None:
        """Append one failure."""
        with self._lock:
            self._records.append(failure)
            if self.path is not None:
                with self.path.open("a") as out:
                    out.write(json.dumps(failure.to_json()) + "\n")

    @property
    def records(self) -> tuple[FailureRecord, ...]:
        """Every failure recorded so far."""
        with self._lock:
            return tuple(self._records)
