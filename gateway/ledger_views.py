"""The gateway's read views over the ledger's audit index: verified trails, and membership.

`LedgerAuditReader` adapts `ledger.audit` (event index + queries + verifier) to the gateway's
`AuditReader`: each answer comes from the local index, brought up to the chain's head at
most every `sync_seconds`, and each step carries the verifier's checks (receipt, log, block
canonical, seal; attestation signatures and the payout on the job's steps). One lock
serialises the index, the node connection and the verifier's caches. A job's verification is
reused until the index's tip moves (each sync re-checks the tip against the chain, so a reorg
drops it too): between two new blocks, the same trail gives the same checks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from gateway.clock import Clock
from gateway.membership import Member, Role
from gateway.schemas.audit import (
    JobSummary,
    JobTrail,
    PayoutSummary,
    SourceSummary,
    SourceVersion,
    StepProof,
    TimelineStep,
)
from ledger.audit.queries import AuditError
from ledger.audit.report import FAILED, Check
from ledger.audit.verify import describe
from ledger.index.store import IndexedEvent
from ledger.protocol import kind_name

_PAYOUT_STEP = "JobFinalized"  # the job-level payout check is shown on the step that settled the escrow


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return _hex(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, int) and abs(value) > 2**53:
        return str(value)  # JSON numbers lose precision past 2^53
    return value


def _check_line(check: Check) -> str:
    return f"{check.name}: {check.status}" + (f" ({check.detail})" if check.detail else "")


class LedgerAuditReader:
    """The gateway's `AuditReader` over a `ledger.audit.auditor.Auditor`."""

    def __init__(self, auditor: Any, clock: Clock, sync_seconds: float = 1.0) -> None:
        self._auditor, self._clock, self._sync_seconds = auditor, clock, sync_seconds
        self._lock = threading.RLock()
        self._synced_at = float("-inf")
        self._tip: bytes | None = None
        self._verifications: dict[int, tuple[Any, list[Check]] | None] = {}

    def _locked(self, read: Callable[[], Any]) -> Any:
        with self._lock:
            now = self._clock.now()
            if now - self._synced_at >= self._sync_seconds:
                self._auditor.sync()
                self._synced_at = now
                tip = self._auditor.queries.store.position().tip_hash
                if tip != self._tip:
                    self._tip, self._verifications = tip, {}
            return read()

    def indexed_position(self) -> Any:
        """Where the audit index stands (after syncing if due)."""
        return self._locked(self._auditor.queries.store.position)

    # -- jobs --
    def jobs(self) -> list[JobSummary]:
        """Every job, newest first, with its participants."""
        return self._locked(
            lambda: [
                self._summary(self._auditor.queries.job_trail(j.job_id).events, j.status)
                for j in self._auditor.queries.jobs()
            ]
        )

    def _summary(self, events: tuple[IndexedEvent, ...], status: str) -> JobSummary:
        opened = next(e for e in events if e.event == "JobOpened")
        args = opened.args
        owners = []
        for source in args["sourceIds"]:
            terms = self._auditor.queries.source_terms_at(source, opened)
            if terms is not None:
                owners.append(terms[0])
        participants = list(dict.fromkeys([args["requester"], *owners, *args["computeParties"]]))
        return JobSummary(
            job_id=args["jobId"],
            kind=kind_name(args["kind"]),
            status=status,
            requester=args["requester"],
            participants=participants,
            opened_block=opened.block_number,
            opened_at=opened.block_time,
        )

    def _verified(self, job_id: int) -> tuple[Any, list[Check]] | None:
        if job_id not in self._verifications:
            queries, verifier = self._auditor.queries, self._auditor.verifier
            try:
                trail = queries.job_trail(job_id)
            except AuditError:
                return None  # not cached: the job may appear with the next block
            self._verifications[job_id] = (
                trail,
                verifier.check_events(trail.events) + verifier.check_job_evidence(trail.events),
            )
        return self._verifications[job_id]

    def _steps(self, events: tuple[IndexedEvent, ...], checks: list[Check]) -> list[TimelineStep]:
        by_subject: dict[str, list[Check]] = {}
        for check in checks:
            by_subject.setdefault("payout" if check.name == "payout" else check.subject, []).append(check)
        steps = []
        for index, event in enumerate(events):
            mine = by_subject.get(describe(event), []) + (
                by_subject.get("payout", []) if event.event == _PAYOUT_STEP else []
            )
            steps.append(
                TimelineStep(
                    index=index,
                    event=event.event,
                    contract=event.contract,
                    actor=event.actor,
                    block_number=event.block_number,
                    block_time=event.block_time,
                    tx_hash=_hex(event.tx_hash),
                    verified=bool(mine) and not any(c.status == FAILED for c in mine),
                    checks=[_check_line(c) for c in mine],
                )
            )
        return steps

    def job_trail(self, job_id: int) -> JobTrail | None:
        """The job's timeline with each step's verification."""

        def read() -> JobTrail | None:
            verified = self._verified(job_id)
            if verified is None:
                return None
            trail, checks = verified
            steps = self._steps(trail.events, checks)
            ok = not any(c.status == FAILED for c in checks)
            return JobTrail(job=self._summary(trail.events, trail.status), steps=steps, verified=ok)

        return self._locked(read)

    def step_proof(self, job_id: int, index: int) -> StepProof | None:
        """The indexed record and the checks behind one step."""

        def read() -> StepProof | None:
            verified = self._verified(job_id)
            if verified is None or index >= len(verified[0].events):
                return None
            trail, checks = verified
            event = trail.events[index]
            mine = [
                c
                for c in checks
                if c.subject == describe(event) or (event.event == _PAYOUT_STEP and c.name == "payout")
            ]
            step = self._steps((event,), mine)[0]
            proof = {
                "block_number": event.block_number,
                "block_hash": _hex(event.block_hash),
                "tx_hash": _hex(event.tx_hash),
                "tx_index": event.tx_index,
                "log_index": event.log_index,
                "contract": event.contract,
                "address": event.address,
                "event": event.event,
                "actor": event.actor,
                "args": {k: _jsonable(v) for k, v in event.args.items()},
                "topics": [_hex(t) for t in event.topics],
                "data": _hex(event.data),
                "checks": [c.__dict__ for c in mine],
            }
            return StepProof(index=index, verified=step.verified, proof=proof)

        return self._locked(read)

    # -- sources and members --
    def sources(self) -> list[SourceSummary]:
        """Every data source (ids are sequential from 0) with versions and the jobs that used it."""

        def read() -> list[SourceSummary]:
            summaries, source_id = [], 0
            while True:
                try:
                    trail = self._auditor.queries.source_trail(source_id)
                except AuditError:
                    return summaries
                prices = [
                    e.args["pricePerUse"]
                    for e in trail.events
                    if e.event in ("DataSourceRegistered", "SourceTermsUpdated") and "pricePerUse" in e.args
                ]
                retired = any(e.event == "SourceRetired" for e in trail.events)
                summaries.append(
                    SourceSummary(
                        source_id=source_id,
                        owner=trail.owner or "",
                        active=not retired,
                        price_per_use=prices[-1] if prices else 0,
                        versions=[
                            SourceVersion(
                                version=v.version,
                                commitment=_hex(v.commitment) if isinstance(v.commitment, bytes) else str(v.commitment),
                                row_count=v.row_count,
                                block_number=v.event.block_number,
                                block_time=v.event.block_time,
                            )
                            for v in trail.versions
                        ],
                        used_by=[u.job_id for u in trail.uses],
                    )
                )
                source_id += 1

        return self._locked(read)

    def source_trail(self, source_id: int) -> list[TimelineStep] | None:
        """A source's events, each verified."""

        def read() -> list[TimelineStep] | None:
            try:
                events = self._auditor.queries.source_trail(source_id).events
            except AuditError:
                return None
            return self._steps(events, self._auditor.verifier.check_events(events))

        return self._locked(read)

    def member_trail(self, address: str) -> list[TimelineStep]:
        """A member's events, each verified."""

        def read() -> list[TimelineStep]:
            events = self._auditor.queries.member_trail(address).events
            return self._steps(events, self._auditor.verifier.check_events(events))

        return self._locked(read)

    def payouts(self) -> list[PayoutSummary]:
        """Credited and withdrawn per member, in token base units."""

        def read() -> list[PayoutSummary]:
            rows = []
            for address, name in self._auditor.queries.member_names().items():
                trail = self._auditor.queries.member_trail(address)
                rows.append(
                    PayoutSummary(
                        member=_checksum(trail, address), name=name, credited=trail.credited, withdrawn=trail.withdrawn
                    )
                )
            return sorted(rows, key=lambda r: -r.credited)

        return self._locked(read)


def _checksum(trail: Any, address: str) -> str:
    for event in trail.events:
        if event.event == "MemberAdded":
            return event.args["member"]
    return address


class ConsortiumMembership:
    """The gateway's `MembershipLookup`: one eth_call of `Consortium.member(address)` at the head."""

    def __init__(self, consortium: Any) -> None:
        self._consortium = consortium

    def member(self, address: str) -> Member | None:
        """The active member at `address` (zero roles means none)."""
        record = self._consortium.member(address)
        if record.roles == 0:
            return None
        return Member(address, Role(record.roles), record.name)
