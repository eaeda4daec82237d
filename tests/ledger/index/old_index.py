"""An index as version 1 of the job facts left it: a `job_facts` table, and `links` without fact columns."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ledger.index.facts import COLUMNS

_V1_TABLE = """
CREATE TABLE job_facts (
    job_id INTEGER NOT NULL, event_id INTEGER NOT NULL, event TEXT NOT NULL,
    released INTEGER NOT NULL, party TEXT NOT NULL, amount TEXT NOT NULL,
    PRIMARY KEY (job_id, event_id)
) WITHOUT ROWID;
"""


def facts_in_links(path: Path) -> list[tuple[object, ...]]:
    """Every (key, event id, fact, released, party, amount) the index's links carry."""
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT key, event_id, fact, released, party, amount FROM links WHERE fact IS NOT NULL"
            " ORDER BY event_id, key"
        ).fetchall()


def as_version_1(path: Path) -> None:
    """Rewrite a current index at `path` into version 1's shape (its facts moved to `job_facts`)."""
    facts = facts_in_links(path)
    with sqlite3.connect(path) as db:
        db.executescript(_V1_TABLE)
        db.executemany("INSERT INTO job_facts VALUES (?, ?, ?, ?, ?, ?)", [(int(f[0]), *f[1:]) for f in facts])
        for column in COLUMNS:
            db.execute(f"ALTER TABLE links DROP COLUMN {column}")
        db.execute("UPDATE meta SET value = '1' WHERE key = 'job_facts'")
