"""Merkle-batch anchoring: many off-chain audit records, one transaction per batch.

Records are stored durably in SQLite the moment they are added (WAL, full sync), each with
its leaf (`ledger.merkle.leaf_hash`): one row per `add_many` call (a chunk: the records' data
concatenated, their end offsets and their leaves), not one per record, since a SQLite statement
per record cost as much as hashing and proving it. Record ids still run 1, 2, … without gaps:
a chunk holds records first_record … first_record + count - 1. A batch is the next `batch_size` records in arrival
order (or fewer, when the oldest has waited `max_age` seconds); its tree is built with
`ledger.merkle.MerkleTree`, its root is written to the store *before* it is anchored (so
a crash between the two re-anchors the same root on reopening instead of losing it), then
anchored through the `RootSink` with one transaction, and every record gets an inclusion
proof that OpenZeppelin's `MerkleProof.verify` accepts against that root.
"""

from __future__ import annotations

import functools
import sqlite3
import struct
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate, groupby, repeat
from pathlib import Path
from typing import NamedTuple, Protocol

from ledger import merkle
from ledger.errors import AnchorError, LedgerError

SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (first_record INTEGER PRIMARY KEY, count INTEGER NOT NULL, added REAL NOT NULL,
                                   leaves BLOB NOT NULL, data BLOB NOT NULL, ends BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS batches (id INTEGER PRIMARY KEY, first_record INTEGER NOT NULL,
    last_record INTEGER NOT NULL, root BLOB NOT NULL, tag BLOB NOT NULL, tx_hash BLOB, block_number INTEGER,
    chain_batch INTEGER);
"""
ZERO_TAG = b"\x00" * 32
CHUNK_RECORDS = 65_536  # records per stored row at most (bounds one row's size)


@dataclass(frozen=True)
class Anchoring:
    """Where a root was anchored: the chain's batch id (AuditAnchor counts from 0), the transaction, its block."""

    batch_id: int
    tx_hash: bytes
    block_number: int


class RootSink(Protocol):
    """Anchors one Merkle root on chain (`AuditAnchor.anchor(root, count, tag)`)."""

    def anchor(self, root: bytes, count: int, tag: bytes) -> Anchoring:
        """Send the anchoring transaction and wait for it to be mined."""
        ...

    def find(self, root: bytes, tag: bytes) -> Anchoring | None:
        """Where `root` was already anchored with `tag`, if it was (asked before re-sending after a crash)."""
        ...


class InclusionProof(NamedTuple):
    """A record's proof of membership in an anchored batch (a named tuple: a batch makes thousands)."""

    record_id: int
    batch_id: int  # the chain's batch id: what AuditAnchor.verifyRecord takes
    leaf: bytes
    proof: tuple[bytes, ...]
    root: bytes
    tx_hash: bytes | None
    block_number: int | None

    def verify(self, data: bytes) -> bool:
        """True when `data` is this record and the proof leads from it to `root`."""
        return merkle.leaf_hash(data) == self.leaf and merkle.verify(self.leaf, self.proof, self.root)


# InclusionProof._make without its Python frame: tuple.__new__ on rows of exactly its seven fields.
_new_proof = functools.partial(tuple.__new__, InclusionProof)


@dataclass(frozen=True)
class AnchoredBatch:
    """One batch: its root, how many records, the anchoring transaction, a proof per record."""

    batch_id: int
    root: bytes
    count: int
    tag: bytes
    anchoring: Anchoring | None
    proofs: tuple[InclusionProof, ...]


class Anchorer:
    """Durable store + batcher + anchorer of audit records at `path`."""

    def __init__(
        self,
        path: str | Path,
        sink: RootSink,
        *,
        batch_size: int = 65_536,
        max_age: float = 10.0,
        tag: bytes = ZERO_TAG,
        cached_trees: int = 8,
    ) -> None:
        if batch_size < 1 or len(tag) != 32:
            raise AnchorError("batch_size must be ≥ 1 and tag 32 bytes")
        self.sink, self.batch_size, self.max_age, self.tag = sink, batch_size, max_age, tag
        try:
            self.db = sqlite3.connect(Path(path), isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(SCHEMA)
            columns = {row[1] for row in self.db.execute("PRAGMA table_info(batches)")}
            if "chain_batch" not in columns:  # a store from before proofs carried the chain's batch id
                self.db.execute("ALTER TABLE batches ADD COLUMN chain_batch INTEGER")
            _migrate_records(self.db)
        except sqlite3.DatabaseError as exc:
            raise AnchorError(f"cannot open the anchor store {path}: {exc}") from exc
        self._trees: OrderedDict[int, merkle.MerkleTree] = OrderedDict()
        self._cached_trees = cached_trees
        self._tail_first: int | None = None  # leaves of the newest records, while not yet batched
        self._tail: list[bytes] = []

    def close(self) -> None:
        """Close the store."""
        self.db.close()

    # -- adding --
    def add(self, data: bytes) -> tuple[int, list[AnchoredBatch]]:
        """Store one record; returns its id and any batch this completed."""
        ids, batches = self.add_many([data])
        return ids[0], batches

    def add_many(self, records: Iterable[bytes]) -> tuple[list[int], list[AnchoredBatch]]:
        """Store records in one durable write; returns their ids and the batches they completed."""
        data = list(records)
        leaves = merkle.leaf_hashes(data)
        with self._write() as cur:
            first = self._last_record(cur) + 1
            cur.executemany(
                "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)",
                [
                    _chunk(first + at, data[at : at + CHUNK_RECORDS], leaves[at : at + CHUNK_RECORDS], time.time())
                    for at in range(0, len(data), CHUNK_RECORDS)
                ],
            )
        self._keep_leaves(first, leaves)
        ids = list(range(first, first + len(data)))
        batches = self.recover()
        while self.pending() >= self.batch_size:
            batches.append(self._seal_and_anchor(self.batch_size))
        return ids, batches

    def count(self) -> int:
        """How many records the store holds (records are never deleted: ids run 1, 2, … without gaps)."""
        return self._last_record(self.db.cursor())

    def pending(self) -> int:
        """How many records wait for a batch."""
        return self.count() - self._last_batched()

    def _keep_leaves(self, first: int, leaves: list[bytes]) -> None:
        """Remember the leaves of records `first`… just stored, so sealing need not read them back."""
        if self._tail_first is not None and self._tail_first + len(self._tail) == first:
            self._tail.extend(leaves)
        else:
            self._tail_first, self._tail = first, leaves

    def _pending_leaves(self, first: int, count: int) -> list[bytes]:
        """The leaves of records first..first+count-1: from memory when just added, else from the store."""
        if self._tail_first == first and len(self._tail) >= count:
            leaves = self._tail[:count]
            del self._tail[:count]
            self._tail_first = first + count
            return leaves
        return self._stored_leaves(first, first + count - 1)

    # -- batching --
    def tick(self, now: float | None = None) -> AnchoredBatch | None:
        """Anchor what is pending if its oldest record has waited `max_age` seconds (call periodically)."""
        oldest = self.db.execute(
            f"SELECT min(added) FROM chunks WHERE {_FROM_CHUNK_OF} AND first_record + count > ?",
            (self._last_batched() + 1, self._last_batched() + 1),
        ).fetchone()[0]
        if oldest is None or (now if now is not None else time.time()) - oldest < self.max_age:
            return None
        return self.flush()

    def flush(self) -> AnchoredBatch | None:
        """Anchor everything pending now (in batches of at most `batch_size`); returns the last batch."""
        recovered = self.recover()
        batch = recovered[-1] if recovered else None
        while (waiting := self.pending()) > 0:
            batch = self._seal_and_anchor(min(waiting, self.batch_size))
        return batch

    def recover(self) -> list[AnchoredBatch]:
        """Anchor the batches whose root was stored but whose anchoring was not recorded.

        The transaction may have been mined before the crash: the chain is asked for the root
        first, and only a root it does not hold is sent again (anchoring stays idempotent).
        """
        rows = self.db.execute("SELECT id FROM batches WHERE tx_hash IS NULL ORDER BY id").fetchall()
        return [self._anchor(batch_id, look_first=True) for (batch_id,) in rows]

    def _seal_and_anchor(self, count: int) -> AnchoredBatch:
        first = self._last_batched() + 1
        leaves = self._pending_leaves(first, count)
        tree = merkle.MerkleTree.from_leaves(leaves)
        with self._write() as cur:
            cur.execute(
                "INSERT INTO batches (first_record, last_record, root, tag) VALUES (?, ?, ?, ?)",
                (first, first + len(leaves) - 1, tree.root, self.tag),
            )
            batch_id = int(cur.lastrowid or 0)
        self._remember(batch_id, tree)
        return self._anchor(batch_id)

    def _anchor(self, batch_id: int, *, look_first: bool = False) -> AnchoredBatch:
        first, last, root, tag = self.db.execute(
            "SELECT first_record, last_record, root, tag FROM batches WHERE id = ?", (batch_id,)
        ).fetchone()
        try:
            anchoring = self.sink.find(bytes(root), bytes(tag)) if look_first else None
            if anchoring is None:
                anchoring = self.sink.anchor(bytes(root), last - first + 1, bytes(tag))
        except LedgerError as exc:
            raise AnchorError(f"anchoring batch {batch_id} failed (kept; `recover()` retries): {exc}") from exc
        with self._write() as cur:
            cur.execute(
                "UPDATE batches SET tx_hash = ?, block_number = ?, chain_batch = ? WHERE id = ?",
                (anchoring.tx_hash, anchoring.block_number, anchoring.batch_id, batch_id),
            )
        tree = self._tree(batch_id, first, last)
        # map over zip: the per-record loop stays in C (a batch makes tens of thousands of proofs).
        columns = zip(
            range(first, last + 1),
            repeat(anchoring.batch_id),
            tree.layers[0],
            tree.proofs(),
            repeat(tree.root),
            repeat(anchoring.tx_hash),
            repeat(anchoring.block_number),
        )
        proofs = tuple(map(_new_proof, columns))
        return AnchoredBatch(anchoring.batch_id, bytes(root), last - first + 1, bytes(tag), anchoring, proofs)

    # -- proofs --
    def proof(self, record_id: int) -> InclusionProof:
        """The inclusion proof of a record; `AnchorError` while it is not yet in a batch."""
        row = self.db.execute(
            "SELECT id, first_record, last_record, root, tx_hash, block_number, chain_batch FROM batches"
            " WHERE first_record <= ? AND last_record >= ? AND chain_batch IS NOT NULL",
            (record_id, record_id),
        ).fetchone()
        if row is None:
            raise AnchorError(f"record {record_id} is unknown or not yet in an anchored batch")
        batch_id, first, last, root, tx_hash, block_number, chain_batch = row
        tree = self._tree(batch_id, first, last)
        index = record_id - first
        return InclusionProof(
            record_id,
            chain_batch,
            tree.layers[0][index],
            tuple(tree.proof(index)),
            bytes(root),
            bytes(tx_hash) if tx_hash else None,
            block_number,
        )

    def record(self, record_id: int) -> bytes:
        """The stored data of a record."""
        row = self.db.execute(
            f"SELECT first_record, count FROM chunks WHERE {_FROM_CHUNK_OF} LIMIT 1", (record_id,)
        ).fetchone()
        if row is None or not 0 < record_id - row[0] + 1 <= row[1]:
            raise AnchorError(f"no record {record_id}")
        first, index = row[0], record_id - row[0]
        # Only this record's two end offsets and bytes are read (substr on a blob): a chunk may hold 65,536.
        if index == 0:
            (ends,) = self.db.execute(
                "SELECT substr(ends, 1, 8) FROM chunks WHERE first_record = ?", (first,)
            ).fetchone()
            start, end = 0, _END.unpack(ends)[0]
        else:
            (ends,) = self.db.execute(
                "SELECT substr(ends, ?, 16) FROM chunks WHERE first_record = ?", (8 * (index - 1) + 1, first)
            ).fetchone()
            start, end = _END.unpack_from(ends, 0)[0], _END.unpack_from(ends, 8)[0]
        (data,) = self.db.execute(
            "SELECT substr(data, ?, ?) FROM chunks WHERE first_record = ?", (start + 1, end - start, first)
        ).fetchone()
        return bytes(data)

    def _tree(self, batch_id: int, first: int, last: int) -> merkle.MerkleTree:
        if batch_id in self._trees:
            self._trees.move_to_end(batch_id)
            return self._trees[batch_id]
        tree = merkle.MerkleTree.from_leaves(self._stored_leaves(first, last))
        self._remember(batch_id, tree)
        return tree

    def _remember(self, batch_id: int, tree: merkle.MerkleTree) -> None:
        self._trees[batch_id] = tree
        while len(self._trees) > self._cached_trees:
            self._trees.popitem(last=False)

    def _stored_leaves(self, first: int, last: int) -> list[bytes]:
        """The stored leaves of records first..last, read chunk by chunk."""
        rows = self.db.execute(
            f"SELECT first_record, leaves FROM chunks WHERE {_FROM_CHUNK_OF} AND first_record <= ?"
            " ORDER BY first_record",
            (first, last),
        )
        parts = rows.fetchall()
        joined = b"".join(packed for _, packed in parts)
        skip = 32 * (first - parts[0][0]) if parts else 0
        return [joined[at : at + 32] for at in range(skip, skip + 32 * (last - first + 1), 32)]

    def _last_record(self, cur: sqlite3.Cursor) -> int:
        row = cur.execute("SELECT first_record + count - 1 FROM chunks ORDER BY first_record DESC LIMIT 1").fetchone()
        return int(row[0]) if row else 0

    def _last_batched(self) -> int:
        return int(self.db.execute("SELECT coalesce(max(last_record), 0) FROM batches").fetchone()[0])

    def _write(self) -> _Write:
        return _Write(self.db)


class _Write:
    """One IMMEDIATE transaction; sqlite errors become AnchorError."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Cursor:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db.cursor()

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        if kind is None:
            self.db.execute("COMMIT")
            return
        self.db.execute("ROLLBACK")
        if isinstance(exc, sqlite3.DatabaseError):
            raise AnchorError(f"anchor store write failed: {exc}") from exc


_END = struct.Struct("<Q")
# The chunks from the one holding record ? on (chunks never overlap and leave no gaps).
_FROM_CHUNK_OF = "first_record >= (SELECT coalesce(max(first_record), 0) FROM chunks WHERE first_record <= ?)"


def _chunk(
    first: int, data: list[bytes], leaves: list[bytes], added: float
) -> tuple[int, int, float, bytes, bytes, bytes]:
    """A `chunks` row: records first … first + len(data) - 1."""
    ends = list(accumulate(map(len, data)))
    return first, len(data), added, b"".join(leaves), b"".join(data), struct.pack(f"<{len(ends)}Q", *ends)


def _migrate_records(db: sqlite3.Connection) -> None:
    """Move a store's per-record rows (before chunks) into chunks, one per run of records added together."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'records'").fetchone() is None:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        rows = db.execute("SELECT id, leaf, data, added FROM records ORDER BY id").fetchall()
        chunks = []
        for added, run in groupby(rows, key=lambda row: row[3]):
            group = list(run)
            chunks.append(_chunk(group[0][0], [bytes(r[2]) for r in group], [bytes(r[1]) for r in group], added))
        db.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)", chunks)
        db.execute("DROP TABLE records")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
