"""Job facts: a derived table of what a data source's trail needs of each job, kept beside the events.

A busy source's trail asks, of each of its thousands of jobs, the job's status and what the
source's owner was paid. Read from the events themselves that is a join per event and a JSON
argument read per consent and credit; `job_facts` holds the same few values per lifecycle,
consent and credit event, keyed by job, so the trail reads them in one index range per job.

It is an index, never a source of truth: written from the very rows it derives from (in the
same transaction, dropped with them on a rewind, rebuilt from the events when missing), and
`AuditQueries.source_trail(..., derived=False)` recomputes every use from the events rows, which
`Verifier.verify_source` compares ("source uses"), so an edited fact is caught like an edited row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
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
VERSION = "1"  # meta 'job_facts': the version of the rows below, rebuilt from the events when it differs

SCHEMA = """
CREATE TABLE IF NOT EXISTS job_facts (
    job_id INTEGER NOT NULL, event_id INTEGER NOT NULL, event TEXT NOT NULL,
    released INTEGER NOT NULL, party TEXT NOT NULL, amount TEXT NOT NULL,
    PRIMARY KEY (job_id, event_id)
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


def insert_facts(cur: sqlite3.Cursor, first_id: int, facts: Iterable[Fact | None]) -> None:
    """Store the facts of events first_id, first_id + 1, … (None: that event has none)."""
    rows = [(f[0], first_id + i, f[1], f[2], f[3], f[4]) for i, f in enumerate(facts) if f is not None]
    rows.sort()  # in key order: each B-tree page is visited once per batch, not once per fact
    cur.executemany("INSERT INTO job_facts VALUES (?, ?, ?, ?, ?, ?)", rows)


def rebuild(cur: sqlite3.Cursor) -> None:
    """Derive the whole table again from the events (an index written before it, or by another version)."""
    cur.execute("DELETE FROM job_facts")
    rows = cur.execute(
        f"SELECT id, event, args FROM events WHERE event IN ({','.join('?' * len(FACT_EVENTS))})", FACT_EVENTS
    ).fetchall()
    facts = [(row_id, fact_of(event, args_from_json(text))) for row_id, event, text in rows]
    cur.executemany(
        "INSERT INTO job_facts VALUES (?, ?, ?, ?, ?, ?)",
        [(f[0], row_id, f[1], f[2], f[3], f[4]) for row_id, f in facts if f is not None],
    )
