"""An index written by version 1 of the job facts: upgraded on the first open with write access, and
read as it is (the same answers, from the events rows) by an auditor who may not write it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ledger.audit.queries import AuditQueries
from ledger.audit.trails import SourceTrail
from ledger.errors import IndexerError
from ledger.index.store import EventStore, Position
from tests.ledger.audit.conftest import write_history
from tests.ledger.index.old_index import as_version_1, facts_in_links
from tests.ledger.index.read_only import read_only_file


def _old_index(tmp_path: Path) -> tuple[Path, SourceTrail, list[tuple[object, ...]]]:
    """The scenario's index in version 1's shape, with the trail and facts the current version gives."""
    path = tmp_path / "old.db"
    store = EventStore(path)
    write_history(store)
    expected = AuditQueries(store).source_trail(1)
    store.close()
    facts = facts_in_links(path)
    as_version_1(path)
    return path, expected, facts


def _facts_version(path: Path) -> object:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT value FROM meta WHERE key = 'job_facts'").fetchone()


def test_a_version_1_index_is_upgraded_on_open_to_the_same_facts_in_links(tmp_path: Path) -> None:
    path, expected, facts = _old_index(tmp_path)
    assert len(facts) == 9 and {"ConsentGiven", "JobFinalized", "PaymentCredited"} <= {f[2] for f in facts}
    store = EventStore(path)
    assert store.facts_current and not store.read_only
    assert AuditQueries(store).source_trail(1) == expected
    assert store.conn.execute("SELECT name FROM sqlite_master WHERE name = 'job_facts'").fetchone() is None
    store.close()
    assert facts_in_links(path) == facts and _facts_version(path) == ("2",)


@pytest.mark.parametrize("how", ["mode=ro", "unwritable file"])
def test_an_old_index_opened_without_write_access_answers_from_the_events_and_writes_nothing(
    tmp_path: Path, how: str
) -> None:
    path, expected, _ = _old_index(tmp_path)
    before = path.read_bytes()
    with read_only_file(path):
        store = EventStore(path, read_only=how == "mode=ro")
        try:
            assert store.read_only and not store.facts_current
            trail = AuditQueries(store).source_trail(1)
            assert trail == expected  # statuses and payouts read from the events rows instead
            assert [(u.job_id, u.status) for u in trail.uses] == [(1, "Finalized"), (2, "Aborted")]
            with pytest.raises(IndexerError, match="is read-only"):
                store.append([], [], Position(99))
        finally:
            store.close()
    assert path.read_bytes() == before and _facts_version(path) == ("1",)


def test_an_index_missing_a_table_opened_read_only_is_a_clear_error(tmp_path: Path) -> None:
    path, _, _ = _old_index(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("DROP INDEX events_by_source_terms")
    with pytest.raises(IndexerError, match="lacks events_by_source_terms .* open it once with write access"):
        EventStore(path, read_only=True)
