"""The transport interface and the mailbox a party reads its incoming envelopes from."""

from __future__ import annotations

import queue
from typing import Protocol, runtime_checkable

from compute.party import Address


@runtime_checkable
class Transport(Protocol):
    """Delivers one sealed envelope to a party; raises PartyUnreachable when it cannot."""

    def deliver(self, receiver: Address, envelope: bytes) -> None:
        """Hand `envelope` to `receiver`'s mailbox (or its endpoint)."""
        ...


class Mailbox:
    """A thread-safe FIFO of raw envelopes waiting for one party in one job."""

    def __init__(self) -> None:
        self._queue: queue.Queue[bytes] = queue.Queue()

    def put(self, envelope: bytes) -> None:
        """Append an envelope (called by a transport or an endpoint)."""
        self._queue.put(envelope)

    def get(self, timeout: float) -> bytes | None:
        """The next envelope, or None if none arrives within `timeout` seconds."""
        try:
            return self._queue.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None
