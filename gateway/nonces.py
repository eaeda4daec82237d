"""The durable set of used request nonces: a replayed request fails, even after a restart.

Keyed by (caller, nonce), never by signature bytes: a malleated signature recovers the same
caller, so de-duplicating by signature would let it through. A nonce is forgotten only once
its request's timestamp is far enough outside the freshness window that the request would
be refused as stale anyway.

Writes are group-committed: a claim returns only once its nonce is on disk (synchronous=FULL),
but concurrent claims share one transaction and one fsync. The first waiting claim writes
the batch that queued up while the previous one was being synced; the others wait for it.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS used_nonces (
    caller TEXT NOT NULL,
    nonce BLOB NOT NULL,
    timestamp INTEGER NOT NULL,
    PRIMARY KEY (caller, nonce)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS used_nonces_by_time ON used_nonces (timestamp);
"""
_PRUNE_EVERY = 1000


@dataclass
class _Claim:
    caller: str
    nonce: bytes
    timestamp: int
    fresh: bool = False
    done: bool = False
    error: Exception | None = None


class NonceStore:
    """Used nonces in SQLite (WAL, synchronous=FULL): a claim is on disk before the request runs."""

    def __init__(self, path: Path, window_seconds: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._turn = threading.Condition(self._lock)
        self._queue: list[_Claim] = []
        self._writing = False
        self._window = window_seconds
        self._claims = 0

    def claim(self, caller: str, nonce: bytes, timestamp: int, now: float) -> bool:
        """Record the nonce as used (on disk when this returns); False if this caller already used it."""
        mine = _Claim(caller, nonce, timestamp)
        with self._turn:
            self._queue.append(mine)
            while not mine.done:
                if self._writing:
                    self._turn.wait()
                    continue
                self._writing, batch, self._queue = True, self._queue, []
                self._turn.release()
                try:
                    self._write(batch, now)
                finally:
                    self._turn.acquire()
                    self._writing = False
                    self._turn.notify_all()
        if mine.error is not None:
            raise mine.error
        return mine.fresh

    def _write(self, batch: list[_Claim], now: float) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            for claim in batch:
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO used_nonces (caller, nonce, timestamp) VALUES (?, ?, ?)",
                    (claim.caller, claim.nonce, claim.timestamp),
                )
                claim.fresh = cursor.rowcount == 1
            self._claims += len(batch)
            if self._claims >= _PRUNE_EVERY:
                self._claims = 0
                self._prune(now)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            for claim in batch:
                claim.fresh, claim.error = False, exc
        for claim in batch:
            claim.done = True

    def _prune(self, now: float) -> None:
        # Twice the window: a request this old fails the freshness check before it gets here.
        self._db.execute("DELETE FROM used_nonces WHERE timestamp < ?", (int(now) - 2 * self._window,))

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
