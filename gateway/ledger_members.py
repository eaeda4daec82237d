"""Member views over the audit index: one member's verified trail, and what members were credited and withdrew."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.schemas.audit import PayoutSummary, TimelineStep
from gateway.timeline import steps_of


def _checksum(trail: Any, address: str) -> str:
    for event in trail.events:
        if event.event == "MemberAdded":
            return event.args["member"]
    return address


class MemberViews:
    """Read views of members, run under the reader's lock (`locked`)."""

    def __init__(self, auditor: Any, locked: Callable[[Callable[[], Any]], Any]) -> None:
        self._auditor, self._locked = auditor, locked

    def trail(self, address: str) -> list[TimelineStep]:
        """A member's events, each verified."""

        def read() -> list[TimelineStep]:
            events = self._auditor.queries.member_trail(address).events
            return steps_of(events, self._auditor.verifier.check_events(events))[0]

        return self._locked(read)

    def payout_of(self, address: str) -> PayoutSummary:
        """What one member was credited and withdrew."""

        def read() -> PayoutSummary:
            trail = self._auditor.queries.member_trail(address)
            name = self._auditor.queries.member_names().get(address.lower(), "")
            return PayoutSummary(member=address, name=name, credited=trail.credited, withdrawn=trail.withdrawn)

        return self._locked(read)

    def payouts(self) -> list[PayoutSummary]:
        """Credited and withdrawn per member, in token base units, the most credited first."""

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
