"""The typed results of audit queries: trails of a job, a data source and a member."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.index.store import IndexedEvent

# Which lifecycle event leaves a job in which status (docs/protocol.md, "Job lifecycle").
STATUS_AFTER = {
    "JobOpened": "Open",
    "JobReady": "Ready",
    "ResultCommitted": "Committed",
    "JobDisputed": "Disputed",
    "JobEscalated": "Disputed",
    "DisputeDefaulted": "Refunded",
    "JobFinalized": "Finalized",
    "JobCancelled": "Cancelled",
    "JobAborted": "Aborted",
}
STATUSES = ("Open", "Ready", "Committed", "Disputed", "Finalized", "Refunded", "Cancelled", "Aborted")


def status_after(event: IndexedEvent, current: str) -> str:
    """The job status once `event` has happened (unchanged for non-lifecycle events)."""
    return status_of(event.event, bool(event.args.get("released")), current)


def status_of(event: str, released: bool, current: str) -> str:
    """The job status after an event named `event` (`released`: a DisputeResolved's outcome)."""
    if event == "DisputeResolved":
        return "Finalized" if released else "Refunded"
    return STATUS_AFTER.get(event, current)


@dataclass(frozen=True)
class TrailFilter:
    """Narrow a trail: by event names (`kinds`), job `status`, and block time range [since, until)."""

    kinds: tuple[str, ...] = ()
    status: str | None = None
    since: int | None = None
    until: int | None = None

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in STATUSES:
            raise ValueError(f"unknown job status {self.status!r} (known: {', '.join(STATUSES)})")


@dataclass(frozen=True)
class JobTrail:
    """Every event of one job in chain order, and the status they leave it in."""

    job_id: int
    status: str
    events: tuple[IndexedEvent, ...]


@dataclass(frozen=True)
class SourceVersion:
    """One commitment version of a data source."""

    version: int
    commitment: str
    row_count: int
    event: IndexedEvent


@dataclass(frozen=True)
class SourceUse:
    """One job that used a source: which version, its consent, the job's status, what the owner was paid."""

    job_id: int
    version: int | None
    status: str
    consent: IndexedEvent | None
    paid: int


@dataclass(frozen=True)
class SourceTrail:
    """A data source: owner, every version, every job that used it, and its events in order."""

    source_id: int
    owner: str | None
    versions: tuple[SourceVersion, ...]
    uses: tuple[SourceUse, ...]
    events: tuple[IndexedEvent, ...]


@dataclass(frozen=True)
class MemberTrail:
    """Everything a member did or was named in, and what it was credited and withdrew."""

    address: str
    events: tuple[IndexedEvent, ...]
    credited: int
    withdrawn: int


@dataclass(frozen=True)
class JobSummary:
    """One line of the job list."""

    job_id: int
    kind: int
    requester: str
    status: str
    budget: int
    opened_at: int
