"""The gateway's read view over the ledger's audit index: verified job trails (sources: `gateway.ledger_sources`,
members: `gateway.ledger_members`, steps: `gateway.timeline`).

`LedgerAuditReader` adapts `ledger.audit` (event index + queries + verifier) to the gateway's
`AuditReader`: each answer comes from the local index, brought up to the chain's head at
most every `sync_seconds`, and each step carries the verifier's checks, attached to the step
they concern (`gateway.check_steps`).

A job's verified page is cached per job and reused while the job's events are the same ones
(same blocks, same hashes: a reorg that drops or moves one changes them) and its blocks'
finality is settled. A page with a failed seal check is provisional and re-verified when
the index's tip moves, since a seal can still arrive; unrelated new blocks never throw away
a settled job's verification. One lock serialises the index, the node connection and the
verifier's per-call caches; a cache hit costs one indexed query.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.check_steps import attach
from gateway.clock import Clock
from gateway.ledger_members import MemberViews
from gateway.ledger_sources import SourceViews
from gateway.schemas.audit import (
    JobSummary,
    JobTrail,
    PayoutSummary,
    SourceSummary,
    StepProof,
    TimelineStep,
    VerifiedAt,
)
from gateway.schemas.fields import show
from gateway.settlement_view import contributions, job_terms, settlement
from gateway.timeline import check_result, steps_of
from ledger.audit.budget import BudgetHistory
from ledger.audit.bundle import export_job
from ledger.audit.listing import event_of_tx, job_page
from ledger.audit.opening import requested_price_cap
from ledger.audit.queries import AuditError
from ledger.audit.report import FAILED, PASSED, Check
from ledger.audit.trails import TrailFilter
from ledger.index import HistoryChanged
from ledger.index.store import IndexedEvent
from ledger.protocol import kind_name

log = logging.getLogger("custos.gateway")


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return show(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, int) and abs(value) > 2**53:
        return str(value)  # JSON numbers lose precision past 2^53
    return value


class BundleRefused(Exception):
    """No evidence bundle can be written for the job (it fails verification, or the chain is not sealed)."""


@dataclass
class _Verified:
    """A job's verified page, its JSON, and what it depends on."""

    fingerprint: tuple[tuple[bytes, int], ...]
    events: tuple[IndexedEvent, ...]
    checks: tuple[Check, ...]
    page: JobTrail
    provisional: bool  # a block of the job is not (yet) sealed: re-check when the tip moves
    tip: bytes | None  # the index tip at which the job's events were last compared
    json: bytes = b""

    def as_json(self) -> bytes:
        """The page as the API's JSON body, serialised once."""
        if not self.json:
            self.json = self.page.model_dump_json().encode()
        return self.json


class LedgerAuditReader:
    """The gateway's `AuditReader` over a `ledger.audit.auditor.Auditor`."""

    def __init__(self, auditor: Any, clock: Clock, sync_seconds: float = 1.0, node: str = "") -> None:
        self._auditor, self._clock, self._sync_seconds = auditor, clock, sync_seconds
        self._node = node or "the gateway's chain node"
        self._lock = threading.RLock()
        self._synced_at = float("-inf")
        self._verified: dict[int, _Verified] = {}
        self._known: frozenset[str] = frozenset()
        self._tip: bytes | None = None
        self.history_changed = ""  # why the chain no longer matches the index, once it does not
        self.verifications = 0  # how many job verifications ran (the cache's misses)
        self.sources = SourceViews(auditor, self._locked)
        self.members = MemberViews(auditor, self._locked)

    def _locked(self, read: Callable[[], Any]) -> Any:
        with self._lock:
            now = self._clock.now()
            if now - self._synced_at >= self._sync_seconds:
                try:
                    self._auditor.sync()
                except HistoryChanged as exc:
                    # A block the index holds changed on the chain: keep the index as it was (the evidence),
                    # and re-verify every page, so the changed blocks fail "block canonical" where they show.
                    log.warning("audit index: %s", exc)
                    self.history_changed = str(exc)
                    self._verified.clear()
                self._synced_at = now
                # member_names covers a consortium bundle's genesis members, which no MemberAdded records.
                self._known = frozenset(self._auditor.queries.member_names())
                self._tip = self._auditor.queries.store.position().tip_hash
            return read()

    def indexed_position(self) -> Any:
        """Where the audit index stands (after syncing if due)."""
        return self._locked(self._auditor.queries.store.position)

    def known_members(self) -> frozenset[str]:
        """Lower-case addresses ever admitted as members (from the index; for the membership cache)."""
        return self._locked(lambda: self._known)

    # -- jobs --
    def job_page(
        self, where: TrailFilter, offset: int, limit: int, kind: int | None = None
    ) -> tuple[int, list[JobSummary]]:
        """How many jobs match `where` and `kind`, and `limit` of them from `offset`, newest first, not verified."""

        def read() -> tuple[int, list[JobSummary]]:
            found = job_page(self._auditor.queries.store, where, offset, limit, kind)
            return found.total, [
                self._summary(job.opened, job.status, self._verified.get(job.opened.args["jobId"]))
                for job in found.items
            ]

        return self._locked(read)

    def verify_jobs(self, summaries: Sequence[JobSummary]) -> list[JobSummary]:
        """The same summaries with their verdicts (verifying the jobs not verified yet)."""
        return [s.model_copy(update={"verified": self._page(s.job_id).verified}) for s in summaries]

    def _summary(self, opened: IndexedEvent, status: str, cached: _Verified | None = None) -> JobSummary:
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
            verified=cached.page.verified if cached else None,
        )

    def _page(self, job_id: int) -> JobTrail:
        return self._locked(lambda: self._verify(job_id).page)

    def _verify(self, job_id: int) -> _Verified:
        """The job's verified page from the cache, or verified now; AuditError if there is no such job."""
        tip, cached = self._tip, self._verified.get(job_id)
        if cached is not None and cached.tip == tip:
            return cached  # the index has not moved since the job's events were compared
        trail = self._auditor.queries.job_trail(job_id)
        fingerprint = tuple((e.block_hash, e.log_index) for e in trail.events)
        if cached is not None and cached.fingerprint == fingerprint and not cached.provisional:
            cached.tip = tip  # new blocks, none of them the job's
            return cached
        # Trust root, completeness, every event and its block (roots, seals), attestations, payout.
        checks = self._auditor.verifier.verify_job(job_id).checks
        self.verifications += 1
        page = self._build(trail.events, trail.status, checks)
        provisional = any(c.name == "seal quorum" and c.status == FAILED for c in checks)
        entry = _Verified(fingerprint, trail.events, checks, page, provisional, tip)
        self._verified[job_id] = entry
        return entry

    def _build(self, events: tuple[IndexedEvent, ...], status: str, checks: Sequence[Check]) -> JobTrail:
        steps, unattached = steps_of(events, checks)
        terms = job_terms(events, self._auditor.queries.source_terms_at, self._price_cap)
        summary = self._summary(next(e for e in events if e.event == "JobOpened"), status)
        ok = not any(c.status == FAILED for c in checks)
        return JobTrail(
            job=summary.model_copy(update={"verified": ok}),
            steps=steps,
            verified=ok,
            job_checks=[check_result(c) for c in unattached],
            terms=terms,
            settlement=settlement(events, terms),
            contributions=contributions(events, terms),
            verified_at=self._verified_at(checks),
        )

    def _price_cap(self, opened: IndexedEvent) -> int | None:
        return requested_price_cap(self._auditor.nodes[0], opened)

    def _verified_at(self, checks: Sequence[Check]) -> VerifiedAt:
        position = self._auditor.queries.store.position()
        seals = [c for c in checks if c.name == "seal quorum"]
        failed = [c for c in seals if c.status == FAILED]
        passed = [c for c in seals if c.status == PASSED]
        if failed:
            sealed = f"{failed[0].subject} lacks a seal quorum: {failed[0].detail}"
        elif passed:
            sealed = f"the job's latest block ({passed[-1].subject}) {passed[-1].detail}"
        else:
            sealed = "this chain has no validator seals (not an embedded Custos chain)"
        return VerifiedAt(
            node=self._node,
            block_number=position.tip_number or 0,
            block_hash=show(position.tip_hash) if position.tip_hash else "",
            sealed=sealed,
        )

    def job_bundle(self, job_id: int) -> bytes | None:
        """The job's evidence bundle (docs/evidence-bundle.md) as JSON; None if no such job.

        `BundleRefused` when the job does not verify or the chain has no seals to stand on.
        """

        def read() -> bytes | None:
            try:
                self._auditor.queries.job_trail(job_id)
            except AuditError:
                return None
            report = self._auditor.verifier.verify_job(job_id)  # export_job reuses this verification's view
            if not report.ok:
                raise BundleRefused(f"job {job_id} does not verify against the chain; no bundle is written")
            try:
                return json.dumps(export_job(self._auditor, job_id)).encode()
            except AuditError as exc:
                raise BundleRefused(str(exc)) from None

        return self._locked(read)

    def job_trail_json(self, job_id: int) -> bytes | None:
        """`job_trail` as its JSON body, serialised once per verification."""
        cached = self._verified.get(job_id)
        fresh = self._clock.now() - self._synced_at < self._sync_seconds
        if cached is not None and cached.json and cached.tip == self._tip and fresh:
            return cached.json  # nothing synced since it was checked: no lock, no query
        try:
            return self._locked(lambda: self._verify(job_id).as_json())
        except AuditError:
            return None

    def job_trail(self, job_id: int) -> JobTrail | None:
        """The job's timeline with each step's verification, terms, settlement and contributions."""
        try:
            return self._page(job_id)
        except AuditError:
            return None  # not cached: the job may appear with the next block

    def step_proof(self, job_id: int, index: int) -> StepProof | None:
        """The indexed record and the checks behind one step."""

        def read() -> StepProof | None:
            try:
                verified = self._verify(job_id)
            except AuditError:
                return None
            if index >= len(verified.events):
                return None
            event, step = verified.events[index], verified.page.steps[index]
            per_step, _ = attach(verified.events, verified.checks)
            proof = {
                "block_number": event.block_number,
                "block_hash": show(event.block_hash),
                "tx_hash": show(event.tx_hash),
                "tx_index": event.tx_index,
                "log_index": event.log_index,
                "contract": event.contract,
                "address": event.address,
                "event": event.event,
                "actor": event.actor,
                "args": {k: _jsonable(v) for k, v in event.args.items()},
                "topics": [show(t) for t in event.topics],
                "data": show(event.data),
                "checks": [c.__dict__ for c in per_step[index]],
            }
            return StepProof(index=index, verified=step.verified, proof=proof)

        return self._locked(read)

    def job_of_tx(self, tx_hash: bytes) -> tuple[int | None, int | None]:
        """(job id, source id) the transaction's first indexed event belongs to, for search."""

        def read() -> tuple[int | None, int | None]:
            event = event_of_tx(self._auditor.queries.store, tx_hash)
            return (None, None) if event is None else (event.args.get("jobId"), event.args.get("sourceId"))

        return self._locked(read)

    # -- sources and members --
    def source_page(self, offset: int, limit: int) -> tuple[int, list[SourceSummary]]:
        """How many data sources there are, and `limit` of them from `offset` in id order."""
        return self.sources.page(offset, limit)

    def sources_of(self, owner: str) -> list[SourceSummary]:
        """The data sources `owner` registered."""
        return self.sources.registered_by(owner)

    def source(self, source_id: int) -> SourceSummary | None:
        """One data source's summary, or None."""
        return self.sources.summary(source_id)

    def source_trail(self, source_id: int) -> list[TimelineStep] | None:
        """A source's events, each verified."""
        return self.sources.trail(source_id)

    def source_budget(self, source_id: int) -> BudgetHistory:
        """A source's privacy budget over time, from its PrivacyBudget events."""
        return self.sources.budget(source_id)

    def member_trail(self, address: str) -> list[TimelineStep]:
        """A member's events, each verified."""
        return self.members.trail(address)

    def payout_of(self, address: str) -> PayoutSummary:
        """What one member was credited and withdrew."""
        return self.members.payout_of(address)

    def payouts(self) -> list[PayoutSummary]:
        """Credited and withdrawn per member, in token base units."""
        return self.members.payouts()
