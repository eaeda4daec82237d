"""The local event index: decoded contract events in SQLite, followed incrementally and reorg-aware."""

from ledger.index.indexer import EventIndexer, HistoryChanged, SyncResult
from ledger.index.store import EventStore, IndexedEvent, Position

__all__ = ["EventIndexer", "EventStore", "HistoryChanged", "IndexedEvent", "Position", "SyncResult"]
