"""The local event index: one SQLite file (WAL) holding decoded events, their links and the position.

Each indexed batch (events, the headers they sit in, the new position) is written in one
transaction, so a killed indexer leaves the file at the end of the last whole batch:
no duplicates (a unique key on block and log index would reject them) and no gaps.
`links` maps (kind, key) → event, e.g. ('job', '7'), ('source', '3'), ('member', '0xab…'),
which is what makes a job's or a member's trail an index range scan; `events_by_name` and
`events_by_tx` make a list of one event (JobOpened, DataSourceRegistered) and a transaction's
events index scans too (`ledger.audit.listing`); `events_by_source_terms` (partial: a few rows
per source) finds a source's registration and terms updates without reading every registration.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.errors import IndexerError
from ledger.index import facts as job_facts
from ledger.index.stored_args import args_from_json, args_json

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    block_number INTEGER NOT NULL, log_index INTEGER NOT NULL, tx_index INTEGER NOT NULL,
    tx_hash BLOB NOT NULL, block_hash BLOB NOT NULL, block_time INTEGER NOT NULL,
    address TEXT NOT NULL, contract TEXT NOT NULL, event TEXT NOT NULL, actor TEXT NOT NULL,
    args TEXT NOT NULL, topics BLOB NOT NULL, data BLOB NOT NULL,
    UNIQUE (block_number, log_index)
);
CREATE TABLE IF NOT EXISTS links (
    kind TEXT NOT NULL, key TEXT NOT NULL, event_id INTEGER NOT NULL,
    PRIMARY KEY (kind, key, event_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blocks (number INTEGER PRIMARY KEY, hash BLOB NOT NULL, time INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_name ON events (event, block_number, log_index);
CREATE INDEX IF NOT EXISTS events_by_tx ON events (tx_hash);
CREATE INDEX IF NOT EXISTS events_by_source_terms ON events (json_extract(args, '$.sourceId'))
    WHERE event IN ('DataSourceRegistered', 'SourceTermsUpdated');
"""


# What SCHEMA and job_facts.SCHEMA create: a read-only open checks that they exist.
_SCHEMA_OBJECTS = (
    "events", "links", "blocks", "meta", "job_facts",
    "events_by_name", "events_by_tx", "events_by_source_terms",
)  # fmt: skip


@dataclass(frozen=True)
class IndexedEvent:
    """One contract event as indexed: where it is on chain, who caused it, what it says."""

    block_number: int
    log_index: int
    tx_index: int
    tx_hash: bytes
    block_hash: bytes
    block_time: int
    address: str
    contract: str
    event: str
    actor: str
    args: dict[str, Any]
    topics: tuple[bytes, ...]
    data: bytes
    links: tuple[tuple[str, str], ...] = ()
    id: int | None = field(default=None, compare=False)


# The `events` columns after the id: block_number, log_index, tx_index, tx_hash, block_hash, block_time,
# address, contract, event, actor, args (JSON text), topics (concatenated), data.
EventRow = tuple[int, int, int, bytes, bytes, int, str, str, str, str, str, bytes, bytes]


@dataclass(frozen=True)
class Position:
    """Where the indexer stands: the next block to read and the hash of the last one read."""

    next_block: int
    tip_number: int | None = None
    tip_hash: bytes | None = None


class EventStore:
    """Reads and atomic batch writes of the index file at `path`.

    An index the process may not write (a read-only file or mount, or `read_only=True`, which opens
    it with SQLite's `mode=ro`) is read as it is: `read_only` is then True, every write raises
    `IndexerError`, and when its derived tables are missing or of another version
    (`facts_current` False) the queries compute the same answers from the events rows instead.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.facts_current = False
        try:
            if read_only:
                self.conn = sqlite3.connect(
                    self.path.resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None, check_same_thread=False
                )
            else:
                self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=FULL")
                self.conn.executescript(SCHEMA + job_facts.SCHEMA)
            self._check_schema()
            self._derive_missing()
        except sqlite3.DatabaseError as exc:
            raise IndexerError(f"cannot open the event index {self.path}: {exc}") from exc

    def _check_schema(self) -> None:
        """Every table and index the queries use exists (only a read-only open can find one missing)."""
        found = {name for (name,) in self.conn.execute("SELECT name FROM sqlite_master")}
        missing = sorted(set(_SCHEMA_OBJECTS) - found)
        if missing:
            raise IndexerError(
                f"the event index {self.path} lacks {', '.join(missing)} (written by an older version) and is"
                " read-only: open it once with write access to upgrade it"
            )

    def _derive_missing(self) -> None:
        """Build the derived tables (`ledger.index.facts`) of an index written before them.

        Without write access they stay as they are, and `facts_current` says the queries must not use them.
        """
        found = self.conn.execute("SELECT value FROM meta WHERE key = 'job_facts'").fetchone()
        if found is not None and found[0] == job_facts.VERSION:
            self.facts_current = True
            return
        if self.read_only:
            return
        try:
            with self._transaction() as cur:
                job_facts.rebuild(cur)
                cur.execute("INSERT OR REPLACE INTO meta VALUES ('job_facts', ?)", (job_facts.VERSION,))
        except (IndexerError, sqlite3.OperationalError) as exc:
            cause = exc.__cause__ if isinstance(exc, IndexerError) else exc
            if not _is_read_only(cause):
                raise
            self.read_only = True  # the file or its folder is not writable: read it as it is
            return
        self.facts_current = True

    def close(self) -> None:
        """Close the file."""
        self.conn.close()

    def position(self, start_block: int = 0) -> Position:
        """The stored position, or `start_block` for a new index."""
        meta = dict(self.conn.execute("SELECT key, value FROM meta").fetchall())
        if "next_block" not in meta:
            return Position(start_block)
        tip = meta.get("tip_number")
        return Position(
            int(meta["next_block"]),
            int(tip) if tip else None,
            bytes.fromhex(meta["tip_hash"]) if meta.get("tip_hash") else None,
        )

    def append(
        self, events: Sequence[IndexedEvent], blocks: Iterable[tuple[int, bytes, int]], position: Position
    ) -> None:
        """Write one batch and the position after it, all or nothing."""
        facts = [job_facts.fact_of(e.event, e.args) for e in events]
        self.append_rows([event_row(e) for e in events], [e.links for e in events], blocks, position, facts)

    def append_rows(
        self,
        rows: Sequence[EventRow],
        links: Sequence[Sequence[tuple[str, str]]],
        blocks: Iterable[tuple[int, bytes, int]],
        position: Position,
        facts: Sequence[job_facts.Fact | None] | None = None,
    ) -> None:
        """`append` for events already in row form (`event_row`), with each row's links: the indexer's path.

        `facts`: each row's `ledger.index.facts.fact_of`, when the caller holds the decoded arguments
        (else they are derived from the rows' JSON).
        """
        if facts is None:
            facts = job_facts.facts_of_rows([r[8] for r in rows], [r[10] for r in rows])
        with self._transaction() as cur:
            first = self._insert(cur, rows, links)
            job_facts.insert_facts(cur, first, facts)
            cur.executemany("INSERT OR REPLACE INTO blocks VALUES (?, ?, ?)", blocks)
            self._set_position(cur, position)

    def _insert(self, cur: sqlite3.Cursor, rows: Sequence[EventRow], links: Sequence[Sequence[tuple[str, str]]]) -> int:
        first = int(cur.execute("SELECT coalesce(max(id), 0) + 1 FROM events").fetchone()[0])
        # SQLite gives each new row max(id) + 1 inside this one write transaction, so the ids are
        # first, first + 1, …: rows and links go in as two `executemany` calls.
        cur.executemany(
            "INSERT INTO events (block_number, log_index, tx_index, tx_hash, block_hash, block_time, address,"
            " contract, event, actor, args, topics, data) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        cur.executemany(
            "INSERT OR IGNORE INTO links VALUES (?, ?, ?)",
            [(kind, key, first + i) for i, pairs in enumerate(links) for kind, key in pairs],
        )
        return first

    def rewind(self, last_kept_block: int, position: Position) -> int:
        """Drop everything above `last_kept_block` (a reorg); returns how many events were dropped."""
        with self._transaction() as cur:
            # Ids grow with chain order, so the dropped events are the ids above the last one kept
            # (links has no index by event: a rewind is rare, every trail query is by key).
            kept = cur.execute(
                "SELECT coalesce(max(id), 0) FROM events WHERE block_number <= ?", (last_kept_block,)
            ).fetchone()[0]
            cur.execute("DELETE FROM links WHERE event_id > ?", (kept,))
            cur.execute("DELETE FROM job_facts WHERE event_id > ?", (kept,))
            dropped = cur.execute("DELETE FROM events WHERE block_number > ?", (last_kept_block,)).rowcount
            cur.execute("DELETE FROM blocks WHERE number > ?", (last_kept_block,))
            self._set_position(cur, position)
        return dropped

    def stored_blocks(self, below: int) -> Iterator[tuple[int, bytes]]:
        """Stored (number, hash) pairs under height `below`, highest first."""
        yield from self.conn.execute("SELECT number, hash FROM blocks WHERE number < ? ORDER BY number DESC", (below,))

    def count(self) -> int:
        """How many events the index holds."""
        return int(self.conn.execute("SELECT count(*) FROM events").fetchone()[0])

    def _set_position(self, cur: sqlite3.Cursor, position: Position) -> None:
        rows = [
            ("next_block", str(position.next_block)),
            ("tip_number", "" if position.tip_number is None else str(position.tip_number)),
            ("tip_hash", position.tip_hash.hex() if position.tip_hash else ""),
        ]
        cur.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", rows)

    def _transaction(self) -> _Transaction:
        if self.read_only:
            raise IndexerError(f"the event index {self.path} is read-only: it can be read, not synced or written")
        return _Transaction(self.conn)


def _is_read_only(exc: BaseException | None) -> bool:
    """SQLite refused a write because the database (or its folder) is read-only."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF == sqlite3.SQLITE_READONLY


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any error and translated to IndexerError."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Cursor:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn.cursor()

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        if kind is None:
            self.conn.execute("COMMIT")
            return
        self.conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.DatabaseError):
            raise IndexerError(f"event index write failed: {exc}") from exc


def event_row(e: IndexedEvent) -> EventRow:
    """The `events` columns of `e` after its id, as `EventStore.append_rows` takes them."""
    return (
        e.block_number,
        e.log_index,
        e.tx_index,
        e.tx_hash,
        e.block_hash,
        e.block_time,
        e.address,
        e.contract,
        e.event,
        e.actor,
        args_json(e.args),
        b"".join(e.topics),
        e.data,
    )


def row_to_event(row: sqlite3.Row | tuple[Any, ...]) -> IndexedEvent:
    """An `events` row (in column order) as an IndexedEvent."""
    (
        id_,
        block_number,
        log_index,
        tx_index,
        tx_hash,
        block_hash,
        block_time,
        address,
        contract,
        event,
        actor,
        args,
        topics,
        data,
    ) = row
    return IndexedEvent(
        block_number,
        log_index,
        tx_index,
        bytes(tx_hash),
        bytes(block_hash),
        block_time,
        address,
        contract,
        event,
        actor,
        args_from_json(args),
        tuple([topics[i : i + 32] for i in range(0, len(topics), 32)]),
        bytes(data),
        (),
        id_,
    )
