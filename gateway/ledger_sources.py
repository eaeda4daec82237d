"""Data-source views over the audit index: a page of summaries, an owner's sources, one source's
verified trail and its privacy budget over time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.schemas.audit import SourceSummary, SourceUsePublic, SourceVersion, TimelineStep
from gateway.timeline import steps_of
from ledger.audit.budget import BudgetHistory, budget_history, source_budget_events
from ledger.audit.listing import source_page, sources_registered_by
from ledger.audit.queries import AuditError


def _hex(value: Any) -> str:
    return "0x" + bytes(value).hex() if isinstance(value, bytes | bytearray) else str(value)


class SourceViews:
    """Read views of data sources, run under the reader's lock (`locked`)."""

    def __init__(self, auditor: Any, locked: Callable[[Callable[[], Any]], Any]) -> None:
        self._auditor, self._locked = auditor, locked

    def _summary(self, source_id: int) -> SourceSummary | None:
        try:
            trail = self._auditor.queries.source_trail(source_id)
        except AuditError:
            return None
        prices = [
            e.args["pricePerUse"]
            for e in trail.events
            if e.event in ("DataSourceRegistered", "SourceTermsUpdated") and "pricePerUse" in e.args
        ]
        retired = any(e.event == "DataSourceRetired" for e in trail.events)
        return SourceSummary(
            source_id=source_id,
            owner=trail.owner or "",
            active=not retired,
            price_per_use=prices[-1] if prices else 0,
            versions=[
                SourceVersion(
                    version=v.version,
                    commitment=_hex(v.commitment),
                    row_count=v.row_count,
                    block_number=v.event.block_number,
                    block_time=v.event.block_time,
                )
                for v in trail.versions
            ],
            used_by=[u.job_id for u in trail.uses],
            uses=[
                SourceUsePublic(
                    job_id=u.job_id,
                    version=u.version,
                    status=u.status,
                    consent=None if u.consent is None else ("automatic" if u.consent.args["automatic"] else "explicit"),
                    paid=u.paid,
                )
                for u in trail.uses
            ],
        )

    def summary(self, source_id: int) -> SourceSummary | None:
        """One source's summary, or None if there is no such source."""
        return self._locked(lambda: self._summary(source_id))

    def page(self, offset: int, limit: int) -> tuple[int, list[SourceSummary]]:
        """How many sources there are, and the summaries of `limit` of them from `offset`."""

        def read() -> tuple[int, list[SourceSummary]]:
            found = source_page(self._auditor.queries.store, offset, limit)
            return found.total, [s for s in map(self._summary, found.items) if s is not None]

        return self._locked(read)

    def registered_by(self, owner: str) -> list[SourceSummary]:
        """The summaries of the sources `owner` registered."""

        def read() -> list[SourceSummary]:
            ids = sources_registered_by(self._auditor.queries.store, owner)
            return [s for s in map(self._summary, ids) if s is not None]

        return self._locked(read)

    def trail(self, source_id: int) -> list[TimelineStep] | None:
        """A source's events, each verified."""

        def read() -> list[TimelineStep] | None:
            try:
                events = self._auditor.queries.source_trail(source_id).events
            except AuditError:
                return None
            return steps_of(events, self._auditor.verifier.check_events(events))[0]

        return self._locked(read)

    def budget(self, source_id: int) -> BudgetHistory:
        """The source's privacy budget: its state after each PrivacyBudget event, and per DP job its ε."""
        return self._locked(lambda: budget_history(source_budget_events(self._auditor.queries, source_id), source_id))
