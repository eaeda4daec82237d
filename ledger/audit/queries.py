"""Audit queries over the local event index: the trail of a job, a data source, a member.

Every trail is one or two index range scans over `links` (kind, key) joined to `events`,
so it costs the size of the answer, not of the index. Results are the typed trails of
`ledger.audit.trails`; verifying them against the chain is `ledger.audit.verify`'s job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from ledger.audit.evidence import source_share, terms_from
from ledger.audit.trails import (
    JobSummary,
    JobTrail,
    MemberTrail,
    SourceTrail,
    SourceUse,
    SourceVersion,
    TrailFilter,
    status_after,
    status_of,
)
from ledger.errors import AuditError
from ledger.index.facts import FACT_EVENTS, STATUS_EVENTS
from ledger.index.store import EventStore, IndexedEvent, args_from_json, row_to_event

_COLUMNS = (
    "e.id, e.block_number, e.log_index, e.tx_index, e.tx_hash, e.block_hash, e.block_time, e.address,"
    " e.contract, e.event, e.actor, e.args, e.topics, e.data"
)
_PAYOUT_EVENTS = ("ResultCommitted", "JobFinalized", "EscrowReleased")


class _Settled(NamedTuple):
    """What a source trail needs of one job, without parsing its events' arguments (a busy source has 1,000s)."""

    status: str
    consents: int  # consents given by the source's owner (more than one: it gave two of its sources)
    paid: int  # the credits to the source's owner


class AuditQueries:
    """Read-only audit queries over an event index."""

    def __init__(self, store: EventStore | str | Path, genesis_members: Mapping[str, str] | None = None) -> None:
        """`genesis_members`: address → name of the members a consortium bundle's genesis admits
        (deployment.json's `genesis.members`): their state is allocated in block 0, so no event names them."""
        self.store = store if isinstance(store, EventStore) else EventStore(store)
        self.genesis_members = {a.lower(): n for a, n in (genesis_members or {}).items()}

    # -- trails --
    def job_trail(self, job_id: int, where: TrailFilter = TrailFilter()) -> JobTrail:
        """Every event of job `job_id` in chain order; `AuditError` if the index has no such job."""
        everything = self._linked("job", [str(job_id)], TrailFilter())
        if not any(e.event == "JobOpened" for e in everything):
            raise AuditError(f"no job {job_id} in the index")
        status = _status(everything)
        if where.status is not None and where.status != status:
            return JobTrail(job_id, status, ())
        return JobTrail(job_id, status, tuple(e for e in everything if _matches(e, where)))

    def job_events(self, job_id: int) -> list[IndexedEvent]:
        """Every indexed event linked to job `job_id` (empty when there is none; for verification)."""
        return self._linked("job", [str(job_id)], TrailFilter())

    def source_events(self, source_ids: Sequence[int], where: TrailFilter = TrailFilter()) -> list[IndexedEvent]:
        """Events linked to any of `source_ids`, in chain order."""
        return self._linked("source", [str(s) for s in source_ids], where)

    def source_trail(self, source_id: int, where: TrailFilter = TrailFilter(), *, derived: bool = True) -> SourceTrail:
        """A source's versions, the jobs that used it (consent, status, payout) and its events.

        Each job's status and payout come from the derived `job_facts` table (`ledger.index.facts`);
        `derived=False` reads them from the events rows instead, which verification compares against.
        """
        events = self._linked("source", [str(source_id)], TrailFilter())
        registered = next((e for e in events if e.event == "DataSourceRegistered"), None)
        if registered is None:
            raise AuditError(f"no data source {source_id} in the index")
        owner = registered.args["owner"]
        versions = [SourceVersion(1, registered.args["commitment"], registered.args["rowCount"], registered)]
        versions += [
            SourceVersion(e.args["version"], e.args["commitment"], e.args["rowCount"], e)
            for e in events
            if e.event == "CommitmentUpdated"
        ]
        opened = {e.args["jobId"]: e for e in events if e.event == "JobOpened"}
        consents = {e.args["jobId"]: e for e in events if e.event == "ConsentGiven"}
        # An index read-only and written by an older version has no usable job_facts: the events give the same.
        derived = derived and self.store.facts_current
        settled = self._settled(list(opened), owner) if derived else self._settled_from_events(list(opened), owner)
        paid = self._paid(source_id, owner, opened, settled)
        uses = []
        for job_id, opening in opened.items():
            status = settled[job_id].status if job_id in settled else "Open"
            if (where.status is not None and where.status != status) or not _matches(opening, _times(where)):
                continue
            version = opening.args["versions"][opening.args["sourceIds"].index(source_id)]
            uses.append(SourceUse(job_id, version, status, consents.get(job_id), paid.get(job_id, 0)))
        used = {u.job_id for u in uses}
        shown = tuple(
            e
            for e in events
            if _matches(e, where) and (where.status is None or "jobId" not in e.args or e.args["jobId"] in used)
        )
        return SourceTrail(source_id, owner, tuple(versions), tuple(uses), shown)

    def member_trail(self, address: str, where: TrailFilter = TrailFilter()) -> MemberTrail:
        """Everything `address` did (as sender) or was named in, with its credits and withdrawals."""
        events = self._linked(
            "member",
            [address.lower()],
            where if where.status is None else TrailFilter(where.kinds, None, where.since, where.until),
        )
        if where.status is not None:
            jobs = {e.args["jobId"] for e in events if "jobId" in e.args}
            statuses = self._statuses(jobs)
            events = [e for e in events if "jobId" in e.args and statuses.get(e.args["jobId"]) == where.status]
        lower = address.lower()
        credited = sum(
            e.args["amount"] for e in events if e.event == "PaymentCredited" and e.args["payee"].lower() == lower
        )
        withdrawn = sum(
            e.args["amount"] for e in events if e.event == "PaymentWithdrawn" and e.args["payee"].lower() == lower
        )
        return MemberTrail(address, tuple(events), credited, withdrawn)

    def jobs(self, status: str | None = None) -> list[JobSummary]:
        """Every job, newest first (optionally only those in `status`)."""
        opened = self._named("JobOpened")
        statuses = self._statuses({e.args["jobId"] for e in opened})
        summaries = [
            JobSummary(
                e.args["jobId"],
                e.args["kind"],
                e.args["requester"],
                statuses[e.args["jobId"]],
                e.args["budget"],
                e.block_time,
            )
            for e in reversed(opened)
        ]
        return [s for s in summaries if status is None or s.status == status]

    def source_terms_at(self, source_id: int, before: IndexedEvent) -> tuple[str, int] | None:
        """A source's (owner, price per use) as they stood just before event `before`."""
        registered = self._terms_events([source_id])
        return terms_from(registered)(source_id, before)

    def member_names(self) -> dict[str, str]:
        """Lower-case address → the name it was admitted under, for readable output.

        Genesis members first, then each MemberAdded in chain order; a MemberRotated key keeps the name.
        """
        names = dict(self.genesis_members)
        changes = self._named("MemberAdded") + self._named("MemberRotated")
        for event in sorted(changes, key=lambda e: (e.block_number, e.log_index)):
            if event.event == "MemberAdded":
                names[event.args["member"].lower()] = event.args["name"]
            elif event.args["from"].lower() in names:
                names[event.args["to"].lower()] = names[event.args["from"].lower()]
        return names

    def event_at(self, block_number: int, log_index: int) -> IndexedEvent:
        """The indexed event at a chain position."""
        row = self.store.conn.execute(
            f"SELECT {_COLUMNS} FROM events e WHERE block_number = ? AND log_index = ?", (block_number, log_index)
        ).fetchone()
        if row is None:
            raise AuditError(f"no indexed event at block {block_number}, log {log_index}")
        return row_to_event(row)

    # -- internals --
    def _linked(self, kind: str, keys: Sequence[str], where: TrailFilter) -> list[IndexedEvent]:
        found: list[IndexedEvent] = []
        for start in range(0, len(keys), 500):  # SQLite caps the number of bound parameters
            chunk = list(keys[start : start + 500])
            sql = [
                f"SELECT {_COLUMNS} FROM links l JOIN events e ON e.id = l.event_id WHERE l.kind = ?",
                "AND l.key = ?" if len(chunk) == 1 else f"AND l.key IN ({','.join('?' * len(chunk))})",
            ]
            sql, params = _filtered(sql, [kind, *chunk], where)
            sql.append("ORDER BY e.block_number, e.log_index")
            found += [row_to_event(r) for r in self.store.conn.execute(" ".join(sql), params)]
        if len(keys) > 500:
            found.sort(key=lambda e: (e.block_number, e.log_index))
        return found

    def _paid(
        self, source_id: int, owner: str, opened: dict[int, IndexedEvent], settled: dict[int, _Settled]
    ) -> dict[int, int]:
        """What each job paid this source: the owner's credits, unless the owner is paid in that job
        for something else too (another of its sources, a compute party's share, a refund as the
        requester); then the source's own share by the payout rule, so nothing is counted twice."""
        me, shared = owner.lower(), []
        paid = {job_id: job.paid for job_id, job in settled.items()}
        for job_id, opening in opened.items():
            consents = settled[job_id].consents if job_id in settled else 0
            if consents > 1 or me == opening.args["requester"].lower() or _named(me, opening.args["computeParties"]):
                shared.append(job_id)
        if not shared:
            return paid
        by_job: dict[int, list[IndexedEvent]] = {}
        for event in self._linked("job", [str(j) for j in shared], TrailFilter(kinds=_PAYOUT_EVENTS)):
            by_job.setdefault(event.args["jobId"], []).append(event)
        sources = sorted({s for j in shared for s in opened[j].args["sourceIds"]})
        terms = terms_from(self._terms_events(sources))
        for job_id in shared:
            paid[job_id] = source_share([opened[job_id], *by_job.get(job_id, [])], source_id, terms)
        return paid

    def _terms_events(self, sources: Sequence[int]) -> list[IndexedEvent]:
        """The registrations and terms updates of `sources`, in chain order.

        Read through the partial index `events_by_source_terms` (a few rows per source) rather than
        each source's links: a used source is linked to every job that used it, thousands of rows
        to skip. The event names are literals, as the index's own WHERE: SQLite uses a partial index
        only for a query whose WHERE implies it, which it cannot prove of bound parameters.
        """
        found: list[IndexedEvent] = []
        for start in range(0, len(sources), 500):
            chunk = list(sources[start : start + 500])
            found += [
                row_to_event(r)
                for r in self.store.conn.execute(
                    f"SELECT {_COLUMNS} FROM events e INDEXED BY events_by_source_terms"
                    " WHERE e.event IN ('DataSourceRegistered', 'SourceTermsUpdated')"
                    f" AND json_extract(e.args, '$.sourceId') IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
            ]
        return sorted(found, key=lambda e: (e.block_number, e.log_index))

    def _settled(self, jobs: Sequence[int], owner: str) -> dict[int, _Settled]:
        """Per job that has any, its status and `owner`'s consents and credits, from `job_facts`.

        A job's status is that its last lifecycle event leaves (`status_of` needs no earlier one), so
        SQLite keeps only that row per job (a bare column beside max() comes from the max row).
        """
        found: dict[int, _Settled] = {}
        me = owner.lower()
        for start in range(0, len(jobs), 500):
            chunk = list(jobs[start : start + 500])
            marks = ",".join("?" * len(chunk))
            lifecycle = self.store.conn.execute(
                f"SELECT job_id, event, released, max(event_id) FROM job_facts WHERE job_id IN ({marks})"
                f" AND event IN ({','.join('?' * len(STATUS_EVENTS))}) GROUP BY job_id",
                [*chunk, *STATUS_EVENTS],
            )
            for job, event, released, _ in lifecycle:
                found[job] = _Settled(status_of(event, bool(released), "Open"), 0, 0)
            owners = self.store.conn.execute(
                f"SELECT job_id, event, amount FROM job_facts WHERE job_id IN ({marks})"
                " AND event IN ('ConsentGiven', 'PaymentCredited') AND lower(party) = ?",
                [*chunk, me],
            )
            for job, event, amount in owners:
                status, consents, paid = found.get(job, _OPEN)
                if event == "ConsentGiven":
                    found[job] = _Settled(status, consents + 1, paid)
                else:
                    found[job] = _Settled(status, consents, paid + int(amount))
        return found

    def _settled_from_events(self, jobs: Sequence[int], owner: str) -> dict[int, _Settled]:
        """`_settled` read from the events rows themselves, event by event in chain order (what the derived
        table is checked against).

        SQLite's json_extract reads only the one argument each kind needs, and Python parses
        only the credits paid to `owner`.
        """
        found: dict[int, _Settled] = {}
        keys = [str(j) for j in jobs]
        me = owner.lower()
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows = self.store.conn.execute(
                "SELECT l.key, e.event,"
                " CASE e.event WHEN 'DisputeResolved' THEN json_extract(e.args, '$.released') END,"
                " CASE e.event WHEN 'ConsentGiven' THEN json_extract(e.args, '$.owner')"
                " WHEN 'PaymentCredited' THEN json_extract(e.args, '$.payee') ELSE '' END,"
                # Amounts from the JSON text in Python: SQLite reads integers past 2^63 as doubles.
                " CASE e.event WHEN 'PaymentCredited' THEN e.args END"
                " FROM links l JOIN events e ON e.id = l.event_id WHERE l.kind = 'job'"
                f" AND l.key IN ({','.join('?' * len(chunk))}) AND e.event IN ({','.join('?' * len(FACT_EVENTS))})"
                " ORDER BY e.block_number, e.log_index",
                [*chunk, *FACT_EVENTS],
            )
            for key, event, released, who, credit in rows:
                status, consents, paid = found.get(int(key), _OPEN)
                mine = who is not None and who.lower() == me
                if credit and mine:
                    paid += args_from_json(credit)["amount"]
                consents += event == "ConsentGiven" and mine
                found[int(key)] = _Settled(status_of(event, bool(released), status), consents, paid)
        return found

    def _named(self, event: str) -> list[IndexedEvent]:
        rows = self.store.conn.execute(
            f"SELECT {_COLUMNS} FROM events e WHERE e.event = ? ORDER BY e.block_number, e.log_index", (event,)
        )
        return [row_to_event(r) for r in rows]

    def _statuses(self, jobs: Iterable[int]) -> dict[int, str]:
        jobs = list(jobs)
        by_job = dict.fromkeys(jobs, "Open")
        for event in self._linked("job", [str(j) for j in jobs], TrailFilter(kinds=STATUS_EVENTS)):
            job = event.args["jobId"]
            by_job[job] = status_after(event, by_job[job])
        return by_job


_OPEN = _Settled("Open", 0, 0)


def _named(address: str, addresses: Iterable[str]) -> bool:
    """`address` (lower case) is among `addresses` (any case)."""
    return any(a.lower() == address for a in addresses)


def _times(where: TrailFilter) -> TrailFilter:
    return TrailFilter(since=where.since, until=where.until)


def _status(events: Iterable[IndexedEvent]) -> str:
    status = "Open"
    for event in events:
        status = status_after(event, status)
    return status


def _matches(event: IndexedEvent, where: TrailFilter) -> bool:
    return (
        (not where.kinds or event.event in where.kinds)
        and (where.since is None or event.block_time >= where.since)
        and (where.until is None or event.block_time < where.until)
    )


def _filtered(sql: list[str], params: list[object], where: TrailFilter) -> tuple[list[str], list[object]]:
    if where.kinds:
        sql.append(f"AND e.event IN ({','.join('?' * len(where.kinds))})")
        params += list(where.kinds)
    if where.since is not None:
        sql.append("AND e.block_time >= ?")
        params.append(where.since)
    if where.until is not None:
        sql.append("AND e.block_time < ?")
        params.append(where.until)
    return sql, params
