"""Fixtures for the compute suites: parties with real keys, jobs, and a wire tap transport."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from compute.channel import Job
from compute.party import Address, Party
from compute.transport import InProcessTransport, Mailbox


class WireTap:
    """A real in-process transport with a hook that may record, drop, alter or add envelopes."""

    def __init__(
        self, mailboxes: Mapping[Address, Mailbox], hook: Callable[[Address, bytes], list[bytes]] | None = None
    ) -> None:
        self.inner = InProcessTransport(mailboxes)
        self.mailboxes = mailboxes
        self.hook = hook
        self.seen: list[tuple[Address, bytes]] = []

    def deliver(self, receiver: Address, envelope: bytes) -> None:
        self.seen.append((receiver, envelope))
        for out in self.hook(receiver, envelope) if self.hook else [envelope]:
            self.inner.deliver(receiver, out)


@pytest.fixture
def make_parties() -> Callable[[int], list[Party]]:
    """n parties with fresh chain and transport keys."""
    return lambda n: [Party.generate() for _ in range(n)]


def job_for(parties: list[Party], job_id: int = 1, protocol: str = "test", timeout: float = 5.0) -> Job:
    """A job whose roster is `parties`."""
    return Job(job_id, protocol, {p.address: p.identity for p in parties}, timeout)
