"""Who may use the gateway: the caller's on-chain membership and roles, behind one method."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import IntFlag
from typing import Protocol

from gateway.clock import Clock


class Role(IntFlag):
    """Role bits of the Consortium contract (docs/protocol.md)."""

    REQUESTER = 1
    PROVIDER = 2
    COMPUTE = 4
    AUDITOR = 8
    VALIDATOR = 16


@dataclass(frozen=True)
class Member:
    """An active member of the consortium as the Consortium contract reports it."""

    address: str
    roles: Role
    name: str

    def holds(self, roles: Role) -> bool:
        """Whether the member holds every bit of `roles`."""
        return self.roles & roles == roles


class MembershipLookup(Protocol):
    """The one question the gateway asks the chain about a caller."""

    def member(self, address: str) -> Member | None:
        """The active member at this checksum address, or None."""
        ...


class CachedMembership:
    """Reuses each answer for `ttl` seconds so that a burst of requests costs one chain call."""

    def __init__(self, inner: MembershipLookup, clock: Clock, ttl: float) -> None:
        self._inner, self._clock, self._ttl = inner, clock, ttl
        self._answers: dict[str, tuple[float, Member | None]] = {}
        self._lock = threading.Lock()

    def member(self, address: str) -> Member | None:
        """The member at `address`, from the cache while fresh."""
        now = self._clock.now()
        with self._lock:
            hit = self._answers.get(address)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        answer = self._inner.member(address)
        with self._lock:
            if len(self._answers) > 10_000:
                self._answers.clear()
            self._answers[address] = (now, answer)
        return answer
