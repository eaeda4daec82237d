"""Who may use the gateway: the caller's on-chain membership and roles, behind one method."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntFlag
from typing import Any, Protocol

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


class _Lru:
    """A bounded least-recently-used map of address → (answered at, answer)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, tuple[float, Member | None]] = OrderedDict()

    def get(self, key: str) -> tuple[float, Member | None] | None:
        hit = self._items.get(key)
        if hit is not None:
            self._items.move_to_end(key)
        return hit

    def put(self, key: str, value: tuple[float, Member | None]) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def pop(self, key: str) -> None:
        self._items.pop(key, None)


class CachedMembership:
    """Reuses each answer for `ttl` seconds so that a burst of requests costs one chain call.

    Members and non-members are kept in two LRUs: a flood of strangers' addresses only ever
    evicts other strangers, never a member. With `known` (the addresses ever admitted, from the
    audit index), an address that was never admitted is refused without asking the node at all;
    a member admitted in the last index sync is refused until the next one (about a second).
    """

    def __init__(
        self,
        inner: MembershipLookup,
        clock: Clock,
        ttl: float,
        *,
        known: Callable[[], frozenset[str]] | None = None,
        members: int = 4096,
        strangers: int = 16_384,
    ) -> None:
        self._inner, self._clock, self._ttl, self._known = inner, clock, ttl, known
        self._members, self._strangers = _Lru(members), _Lru(strangers)
        self._lock = threading.Lock()
        self.chain_calls = 0

    def member(self, address: str) -> Member | None:
        """The member at `address`, from the cache while fresh."""
        now = self._clock.now()
        with self._lock:
            hit = self._members.get(address) or self._strangers.get(address)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        if self._known is not None and address.lower() not in self._known():
            answer = None
        else:
            answer = self._inner.member(address)
            self.chain_calls += 1
        with self._lock:
            if answer is None:
                self._members.pop(address)
                self._strangers.put(address, (now, None))
            else:
                self._strangers.pop(address)
                self._members.put(address, (now, answer))
        return answer


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
