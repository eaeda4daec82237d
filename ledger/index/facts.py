"""Job facts: what a data source's trail needs of each job, carried in the job's rows of `links`.

A busy source's trail asks, of each of its thousands of jobs, the job's status and what the
source's owner was paid. Read from the events themselves that is a join per event and a JSON
argument read per consent and credit; instead the ('job', id) link of each lifecycle, consent and
credit event carries the same few values (`fact`: the event's name, `released`, `party`, `amount`),
so the trail reads them in one range of `links` per job. They ride in the link row the event
needs anyway: no B-tree of their own to write (version 1 kept them in a `job_facts` table,
which cost a second insert per event).

It is an index, never a source of truth: written from the very rows it derives from (in the
same transaction, dropped with them on a rewind, rebuilt from the events when missing or of
another version), and `AuditQueries.source_trail(..., derived=False)` recomputes every use from
the events rows, which `Verifier.verify_source` compares ("source uses"), so an edited fact is
caught like an edited row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from ledger.index.stored_args import args_from_json

STATUS_EVENTS = (
    "JobReady",
    "ResultCommitted",
    "JobDisputed",
    "JobEscalated",
    "DisputeResolved",
    "DisputeDefaulted",
    "JobFinalized",
    "JobCancelled",
    "JobAborted",
)
FACT_EVENTS = (*STATUS_EVENTS, "ConsentGiven", "PaymentCredited")
_FACT_SET = frozenset(FACT_EVENTS)
VERSION = "2"  # meta 'job_facts': the version of the facts in `links`, rebuilt from the events when it differs

# The columns of `links` that carry a fact (NULL in every other link row).
COLUMNS = ("fact", "released", "party", "amount")
LINKS_SCHEMA = """
CREATE TABLE IF NOT EXISTS links (
    kind TEXT NOT NULL, key TEXT NOT NULL, event_id INTEGER NOT NULL,
    fact TEXT, released INTEGER, party TEXT, amount TEXT,
    PRIMARY KEY (kind, key, event_id)
) WITHOUT ROWID;
"""

#: (job id, event name, released, party, amount as decimal text): one lifecycle, consent or credit event.
Fact = tuple[int, str, int, str, str]


def fact_of(event: str, args: Mapping[str, Any]) -> Fact | None:
    """The fact an event contributes, or None (not a job's lifecycle, consent or credit event).

    party: a consent's source owner, a credit's payee; released: a resolved dispute's outcome.
    """
    if event not in _FACT_SET or "jobId" not in args:
        return None
    if event == "ConsentGiven":
        return args["jobId"], event, 0, str(args["owner"]), ""
    if event == "PaymentCredited":
        return args["jobId"], event, 0, str(args["payee"]), str(args["amount"])
    return args["jobId"], event, int(bool(args.get("released", False))), "", ""


def facts_of_rows(names: Sequence[str], texts: Sequence[str]) -> list[Fact | None]:
    """`fact_of` for events given as (name, stored argument JSON): only fact events are parsed."""
    return [fact_of(name, args_from_json(text)) if name in _FACT_SET else None for name, text in zip(names, texts)]


def insert_links(
    cur: sqlite3.Cursor, first_id: int, links: Sequence[Sequence[tuple[str, str]]], facts: Sequence[Fact | None]
) -> None:
    """The link rows of events first_id, first_id + 1, …, each event's fact in its ('job', id) row.

    Two statements: the plain rows bind three values, the (fewer) fact rows seven.
    """
    plain, with_fact = [], []
    for i, (pairs, fact) in enumerate(zip(links, facts)):
        job = ("job", str(fact[0])) if fact is not None else None
        for pair in pairs:
            if pair == job and fact is not None:
                with_fact.append((*pair, first_id + i, fact[1], fact[2], fact[3], fact[4]))
            else:
                plain.append((*pair, first_id + i))
    cur.executemany("INSERT OR IGNORE INTO links (kind, key, event_id) VALUES (?, ?, ?)", plain)
    cur.executemany("INSERT OR IGNORE INTO links VALUES (?, ?, ?, ?, ?, ?, ?)", with_fact)


def rebuild(cur: sqlite3.Cursor) -> None:
    """Derive every fact again from the events (an index written before them, or by another version).

    A version-1 index gains the columns (and loses its `job_facts` table).
    """
    present = {row[1] for row in cur.execute("PRAGMA table_info(links)")}
    for column, kind in zip(COLUMNS, ("TEXT", "INTEGER", "TEXT", "TEXT")):
        if column not in present:
            cur.execute(f"ALTER TABLE links ADD COLUMN {column} {kind}")
    cur.execute("DROP TABLE IF EXISTS job_facts")
    cur.execute("UPDATE links SET fact = NULL, released = NULL, party = NULL, amount = NULL WHERE fact IS NOT NULL")
    rows = cur.execute(
        f"SELECT id, event, args FROM events WHERE event IN ({','.join('?' * len(FACT_EVENTS))})", FACT_EVENTS
    ).fetchall()
    facts = [(row_id, fact_of(event, args_from_json(text))) for row_id, event, text in rows]
    cur.executemany(
        "UPDATE links SET fact = ?, released = ?, party = ?, amount = ?"
        " WHERE kind = 'job' AND key = ? AND event_id = ?",
        [(f[1], f[2], f[3], f[4], str(f[0]), row_id) for row_id, f in facts if f is not None],
    )


def current(conn: sqlite3.Connection) -> bool:
    """The index's facts are of this version (and `links` has their columns)."""
    found = conn.execute("SELECT value FROM meta WHERE key = 'job_facts'").fetchone()
    return found is not None and found[0] == VERSION
