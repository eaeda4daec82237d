"""The durable set of used request nonces: a replayed request fails, even after a restart.

Keyed by (caller, nonce), never by signature bytes: a malleated signature recovers the same
caller, so de-duplicating by signature would let it through. A nonce is forgotten only once
its request's timestamp is far enough outside the freshness window that the request would
be refused as stale anyway.
"""

from __future__ import annotations

import sqlite3
import threading
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


class NonceStore:
    """Used nonces in SQLite (WAL, synchronous=FULL): a claim is on disk before the request runs."""

    def __init__(self, path: Path, window_seconds: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._window = window_seconds
        self._claims = 0

    def claim(self, caller: str, nonce: bytes, timestamp: int, now: float) -> bool:
        """Record the nonce as used; False if this caller already used it."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO used_nonces (caller, nonce, timestamp) VALUES (?, ?, ?)",
                (caller, nonce, timestamp),
            )
            self._claims += 1
            if self._claims % _PRUNE_EVERY == 0:
                self._prune(now)
            return cursor.rowcount == 1

    def _prune(self, now: float) -> None:
        # Twice the window: a request this old fails the freshness check before it gets here.
        self._db.execute("DELETE FROM used_nonces WHERE timestamp < ?", (int(now) - 2 * self._window,))

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
