"""An index written by an older version (no current `job_facts`) opened by an auditor who may not write it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ledger.audit.queries import AuditQueries
from ledger.errors import IndexerError
from ledger.index.store import EventStore, Position
from tests.ledger.audit.conftest import write_history
from tests.ledger.index.read_only import read_only_file


def _old_index(tmp_path: Path) -> tuple[Path, object]:
    """The scenario's index, then its job_facts dropped as an index from before them would have none."""
    path = tmp_path / "old.db"
    store = EventStore(path)
    write_history(store)
    expected = AuditQueries(store).source_trail(1)
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM job_facts")
        db.execute("DELETE FROM meta WHERE key = 'job_facts'")
    return path, expected


def _facts_version(path: Path) -> object:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT value FROM meta WHERE key = 'job_facts'").fetchone()


@pytest.mark.parametrize("how", ["mode=ro", "unwritable file"])
def test_an_old_index_opened_without_write_access_answers_from_the_events_and_writes_nothing(
    tmp_path: Path, how: str
) -> None:
    path, expected = _old_index(tmp_path)
    before = path.read_bytes()
    with read_only_file(path):
        store = EventStore(path, read_only=how == "mode=ro")
        try:
            assert store.read_only and not store.facts_current
            trail = AuditQueries(store).source_trail(1)
            assert trail == expected  # statuses and payouts read from the events rows instead of job_facts
            assert [(u.job_id, u.status) for u in trail.uses] == [(1, "Finalized"), (2, "Aborted")]
            with pytest.raises(IndexerError, match="is read-only"):
                store.append([], [], Position(99))
        finally:
            store.close()
    assert path.read_bytes() == before and _facts_version(path) is None
    EventStore(path).close()  # with write access again, the first open rebuilds the table
    assert _facts_version(path) == ("1",)


def test_an_index_missing_a_table_opened_read_only_is_a_clear_error(tmp_path: Path) -> None:
    path, _ = _old_index(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("DROP INDEX events_by_source_terms")
    with pytest.raises(IndexerError, match="lacks events_by_source_terms .* open it once with write access"):
        EventStore(path, read_only=True)
