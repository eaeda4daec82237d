"""Fixtures for the compute suites: parties with real keys, jobs, and a wire tap transport."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from compute.channel import Job
from compute.envelope import parse
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


class SlowLink:
    """A real in-process network on which one honest client's messages at one step arrive late: each is held
    until the server sends its next message at `release_step` (so the server's deadline has passed, however
    fast or slow the machine), then delivered. The client runs the unchanged protocol code."""

    def __init__(self, mailboxes, straggler: str, slow_step: str, server: str, release_step: str) -> None:
        self.tap = WireTap(mailboxes, self._hook)
        self.straggler, self.slow_step, self.server, self.release_step = straggler, slow_step, server, release_step
        self.held: list[tuple[str, bytes]] = []
        self.late_deliveries = 0

    def _hook(self, to, env):
        header = parse(env).header
        if header.sender == self.straggler and header.step == self.slow_step:
            self.held.append((to, env))
            return []
        if header.sender == self.server and header.step == self.release_step and self.held:
            while self.held:
                self.tap.inner.deliver(*self.held.pop(0))
                self.late_deliveries += 1
        return [env]

    def deliver(self, receiver, envelope) -> None:
        self.tap.deliver(receiver, envelope)


@pytest.fixture
def make_parties() -> Callable[[int], list[Party]]:
    """n parties with fresh chain and transport keys."""
    return lambda n: [Party.generate() for _ in range(n)]


def job_for(parties: list[Party], job_id: int = 1, protocol: str = "test", timeout: float = 5.0) -> Job:
    """A job whose roster is `parties`."""
    return Job(job_id, protocol, {p.address: p.identity for p in parties}, timeout)
