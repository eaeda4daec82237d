"""Paged lists and lookups over the event index, answered in SQL: jobs (filtered by status, kind and
opening time), data sources, a member's sources, and the event a transaction emitted.

A page costs the page, not the index: the job list reads one JobOpened row per job through the
`events (event, block_number, log_index)` index and, for each job it shows (or, filtering by
status, each job it considers), its last lifecycle event through `links` (kind, key), the same
rule as `ledger.audit.trails.status_after`. Verification stays with `ledger.audit.verify`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from ledger.audit.trails import STATUS_AFTER, TrailFilter
from ledger.index.store import EventStore, IndexedEvent, row_to_event

_COLUMNS = (
    "o.id, o.block_number, o.log_index, o.tx_index, o.tx_hash, o.block_hash, o.block_time, o.address,"
    " o.contract, o.event, o.actor, o.args, o.topics, o.data"
)
_LIFECYCLE = tuple(name for name in STATUS_AFTER if name != "JobOpened") + ("DisputeResolved",)
_CASES = " ".join(f"WHEN '{event}' THEN '{status}'" for event, status in STATUS_AFTER.items() if event != "JobOpened")
# The status a job's last lifecycle event leaves it in (DisputeResolved: by its outcome), else Open.
_STATUS = (
    "coalesce((SELECT CASE s.event WHEN 'DisputeResolved' THEN"
    " (CASE WHEN json_extract(s.args, '$.released') THEN 'Finalized' ELSE 'Refunded' END)"
    f" {_CASES} END"
    " FROM links l JOIN events s ON s.id = l.event_id"
    " WHERE l.kind = 'job' AND l.key = CAST(json_extract(o.args, '$.jobId') AS TEXT)"
    f" AND s.event IN ({','.join(repr(name) for name in _LIFECYCLE)})"
    " ORDER BY s.block_number DESC, s.log_index DESC LIMIT 1), 'Open')"
)


@dataclass(frozen=True)
class ListedJob:
    """One job of a page: the event that opened it and the status it is in now."""

    opened: IndexedEvent
    status: str


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and how many items the whole list holds."""

    total: int
    items: tuple[T, ...]


def job_page(
    store: EventStore, where: TrailFilter, offset: int, limit: int, kind: int | None = None
) -> Page[ListedJob]:
    """Jobs in `where.status`, opened in [`where.since`, `where.until`), of job `kind` (its number),
    newest first, `limit` of them from `offset`."""
    if where.kinds:
        raise ValueError("a job list filters jobs, not event names: leave `kinds` empty")
    conditions, params = ["o.event = 'JobOpened'"], list[object]()
    if kind is not None:
        conditions.append("json_extract(o.args, '$.kind') = ?")
        params.append(kind)
    if where.since is not None:
        conditions.append("o.block_time >= ?")
        params.append(where.since)
    if where.until is not None:
        conditions.append("o.block_time < ?")
        params.append(where.until)
    where_sql = " AND ".join(conditions)
    if where.status is not None:
        # Only the status decides, so every candidate's status is read (one index range scan each).
        where_sql += f" AND {_STATUS} = ?"
        params.append(where.status)
    total = int(store.conn.execute(f"SELECT count(*) FROM events o WHERE {where_sql}", params).fetchone()[0])
    # Newest first straight from `events_by_name`, so only the page's rows have their status read.
    rows = store.conn.execute(
        f"SELECT {_COLUMNS}, {_STATUS} FROM events o WHERE {where_sql}"
        " ORDER BY o.event DESC, o.block_number DESC, o.log_index DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    ).fetchall()
    return Page(total, tuple(ListedJob(row_to_event(row[:-1]), row[-1]) for row in rows))


def source_page(store: EventStore, offset: int, limit: int) -> Page[int]:
    """Data source ids in registration order, `limit` of them from `offset`."""
    total = int(store.conn.execute("SELECT count(*) FROM events WHERE event = 'DataSourceRegistered'").fetchone()[0])
    rows = store.conn.execute(
        "SELECT json_extract(args, '$.sourceId') FROM events WHERE event = 'DataSourceRegistered'"
        " ORDER BY block_number, log_index LIMIT ? OFFSET ?",
        (limit, offset),
    ).fetchall()
    return Page(total, tuple(int(row[0]) for row in rows))


def sources_registered_by(store: EventStore, owner: str) -> list[int]:
    """Ids of the data sources `owner` registered, in registration order."""
    rows = store.conn.execute(
        "SELECT json_extract(args, '$.sourceId') FROM events WHERE event = 'DataSourceRegistered'"
        " AND lower(json_extract(args, '$.owner')) = ? ORDER BY block_number, log_index",
        (owner.lower(),),
    ).fetchall()
    return [int(row[0]) for row in rows]


def event_of_tx(store: EventStore, tx_hash: bytes) -> IndexedEvent | None:
    """The first indexed event transaction `tx_hash` emitted (through the `events (tx_hash)` index), or None."""
    row = store.conn.execute(
        f"SELECT {_COLUMNS} FROM events o WHERE o.tx_hash = ? ORDER BY o.log_index LIMIT 1", (bytes(tx_hash),)
    ).fetchone()
    return None if row is None else row_to_event(row)
