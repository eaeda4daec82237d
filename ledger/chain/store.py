"""A durable py-evm database over LMDB: every block lands in one atomic write transaction.

Why LMDB: its copy-on-write B+tree switches between two meta pages, so a write
transaction is either entirely on disk or not at all, with no log to replay after a crash;
readers are memory-mapped and lock-free (trie lookups dominate EVM reads), and it is one
small C library with a maintained Python binding. py-evm writes state-trie nodes, headers,
transaction indexes and the canonical head through separate calls; this store buffers all of
them in memory (an overlay that reads see) and `commit()` writes the buffer in a single LMDB
transaction with fsync. Nothing the node has not committed is ever visible after a restart.

Integrity: LMDB keeps no checksums, so the store checks what it serves. py-evm stores every
header, trie node (state, storage, transactions, receipts, withdrawals) and contract code
under the keccak256 of its bytes, always as a 32-byte key, and nothing else uses a bare
32-byte key; so every read of a 32-byte key is checked against keccak256 of the value, and a
flipped byte anywhere on the path from a sealed header's roots raises `StoreCorrupted`
instead of being served. On open, a data file shorter than its last committed page (a
truncated copy) is refused before anything is read: reading past the end of a memory map
would kill the process with SIGBUS.

Crash-point testing: with `CUSTOS_CRASH_AT_WRITE=N` in the environment the process kills
itself with SIGKILL just before the N-th key write (counting from 1 across all commits), or,
when N lands on a commit point, right after that transaction committed.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import lmdb
from eth.abc import AtomicWriteBatchAPI
from eth.db.atomic import AtomicDBWriteBatch
from eth.db.backends.base import BaseAtomicDB
from eth_hash.auto import keccak

from ledger.chain.errors import StoreCorrupted

# Sparse on Linux: the file grows with the data, the map only reserves address space.
MAP_SIZE = 1 << 36
_DELETED = None
CRASH_ENV = "CUSTOS_CRASH_AT_WRITE"


class _CrashHook:
    """Counts store writes process-wide and SIGKILLs the process at the configured one (tests only)."""

    count = 0

    @classmethod
    def tick(cls) -> None:
        raw = os.environ.get(CRASH_ENV, "")
        if not raw.isdigit():
            return
        cls.count += 1
        if cls.count == int(raw):
            os.kill(os.getpid(), signal.SIGKILL)


def writes_so_far() -> int:
    """How many store writes this process has counted (only while the crash hook is armed)."""
    return _CrashHook.count


def checked(key: bytes, value: bytes | None) -> bytes:
    """`value` read under `key`, verified if the key is content-addressed; KeyError if absent."""
    if value is None:
        raise KeyError(key)
    if len(key) == 32 and keccak(value) != key:
        raise StoreCorrupted(f"store corrupted: the value under 0x{key.hex()} does not hash to its key")
    return value


def open_env(path: Path, readonly: bool = False) -> lmdb.Environment:
    """Open the LMDB environment at `path`, refusing a truncated data file before any read."""
    # sync/metasync: a committed block survives power loss, not just a process crash.
    try:
        env = lmdb.open(str(path), map_size=MAP_SIZE, sync=True, metasync=True, max_dbs=0, lock=True, readonly=readonly)
    except lmdb.Error as exc:
        raise StoreCorrupted(f"store {path} cannot be opened: {exc}") from exc
    data_file = path / "data.mdb"
    needed = (env.info()["last_pgno"] + 1) * env.stat()["psize"]
    size = data_file.stat().st_size
    if size < needed:
        env.close()
        raise StoreCorrupted(
            f"store {path} is truncated: data.mdb holds {size} bytes but its last committed page ends at "
            f"{needed}; restore it from a backup (`custos chain backup`)"
        )
    return env


class LMDBSnapshot(BaseAtomicDB):
    """A consistent, read-only view of what was committed when it was taken (one LMDB read transaction).

    Readers never take the node's lock: py-evm may still write (a call's scratch state), and
    those writes land in a private overlay that is dropped with the snapshot.
    """

    def __init__(self, env: lmdb.Environment) -> None:
        self._txn = env.begin(buffers=False)
        self._scratch: dict[bytes, bytes | None] = {}

    def __getitem__(self, key: bytes) -> bytes:
        if key in self._scratch:
            value = self._scratch[key]
            if value is _DELETED:
                raise KeyError(key)
            return value
        return checked(key, self._txn.get(key))

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._scratch[key] = value

    def __delitem__(self, key: bytes) -> None:
        self._scratch[key] = _DELETED

    def _exists(self, key: bytes) -> bool:
        if key in self._scratch:
            return self._scratch[key] is not _DELETED
        return self._txn.get(key) is not None

    @contextmanager
    def atomic_batch(self) -> Iterator[AtomicWriteBatchAPI]:
        """py-evm's batch, into the scratch overlay."""
        with AtomicDBWriteBatch._commit_unless_raises(self) as batch:
            yield batch

    def close(self) -> None:
        """End the read transaction and free its LMDB reader slot now.

        py-lmdb releases a reader slot only when the transaction object is freed; py-evm's
        objects around a snapshot form reference cycles, so without dropping our reference
        here slots waited for the cyclic collector and the 126 slots ran out under load.
        """
        txn, self._txn = self._txn, None  # type: ignore[assignment]  # closed: the transaction is gone
        if txn is not None:
            txn.abort()


class LMDBStore(BaseAtomicDB):
    """py-evm's key/value interface over LMDB, with writes buffered until `commit()`."""

    def __init__(self, path: Path | str) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._env = open_env(path)
        self._pending: dict[bytes, bytes | None] = {}
        self._reader = self._env.begin(buffers=False)

    @property
    def env(self) -> lmdb.Environment:
        """The LMDB environment (read snapshots begin their own transactions on it)."""
        return self._env

    def snapshot(self) -> LMDBSnapshot:
        """A read-only view of the last commit, usable from any thread while blocks are written."""
        return LMDBSnapshot(self._env)

    def backup(self, target: Path) -> None:
        """Write a consistent copy of the committed store into the empty directory `target` (LMDB's hot copy)."""
        target.mkdir(parents=True, exist_ok=True)
        if any(target.iterdir()):
            raise FileExistsError(f"{target} is not empty")
        self._env.copy(str(target), compact=True)

    # -- BaseDB --
    def __getitem__(self, key: bytes) -> bytes:
        if key in self._pending:
            value = self._pending[key]
            if value is _DELETED:
                raise KeyError(key)
            return value
        return checked(key, self._reader.get(key))

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._pending[key] = value

    def __delitem__(self, key: bytes) -> None:
        if not self._exists(key):
            raise KeyError(key)
        self._pending[key] = _DELETED

    def _exists(self, key: bytes) -> bool:
        if key in self._pending:
            return self._pending[key] is not _DELETED
        return self._reader.get(key) is not None

    @contextmanager
    def atomic_batch(self) -> Iterator[AtomicWriteBatchAPI]:
        """py-evm's batch: applied to the overlay on success, dropped on error."""
        with AtomicDBWriteBatch._commit_unless_raises(self) as batch:
            yield batch

    # -- durability --
    @property
    def dirty(self) -> bool:
        """True when writes are buffered that `commit()` has not yet made durable."""
        return bool(self._pending)

    def commit(self) -> None:
        """Write every buffered change in one LMDB transaction (fsync'd), then clear the buffer."""
        if not self._pending:
            return
        with self._env.begin(write=True) as txn:
            for key, value in self._pending.items():
                _CrashHook.tick()
                if value is _DELETED:
                    txn.delete(key)
                else:
                    txn.put(key, value)
        _CrashHook.tick()
        self._pending.clear()
        self._renew_reader()

    def rollback(self) -> None:
        """Drop every buffered change (a block that failed half-way)."""
        self._pending.clear()

    # -- consensus seam: a validated block's writes wait aside until the block is final --
    def set_aside(self) -> dict[bytes, bytes | None]:
        """Take every buffered change out of the overlay (reads no longer see it) and return it."""
        pending, self._pending = self._pending, {}
        return pending

    def restore(self, pending: dict[bytes, bytes | None]) -> None:
        """Put changes taken by `set_aside` back into the (empty) overlay, ready to commit."""
        if self._pending:
            raise RuntimeError("restore into a store with uncommitted writes")
        self._pending = dict(pending)

    def _renew_reader(self) -> None:
        old, self._reader = self._reader, None  # type: ignore[assignment]  # renewed on the next line
        old.abort()
        del old
        self._reader = self._env.begin(buffers=False)

    def close(self) -> None:
        """Close the environment; buffered changes are dropped."""
        self._pending.clear()
        self._reader.abort()
        self._env.close()
