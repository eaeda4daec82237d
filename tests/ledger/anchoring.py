"""Test doubles for anchoring: a chain that keeps each anchored root, and sample records."""

from __future__ import annotations

from ledger.anchor import Anchoring
from ledger.errors import TransactionRejected


class RecordingChain:
    """Stands in for AuditAnchor where the test is about the off-chain store: keeps each anchored root."""

    def __init__(self, fail_first: int = 0) -> None:
        self.roots: list[tuple[bytes, int, bytes]] = []
        self.fail_first = fail_first

    def anchor(self, root: bytes, count: int, tag: bytes) -> Anchoring:
        if self.fail_first:
            self.fail_first -= 1
            raise TransactionRejected("node unavailable")
        self.roots.append((root, count, tag))
        return Anchoring(len(self.roots) - 1, bytes([len(self.roots)]) * 32, len(self.roots))

    def find(self, root: bytes, tag: bytes) -> Anchoring | None:
        for i, (r, _, t) in enumerate(self.roots):
            if (r, t) == (root, tag):
                return Anchoring(i, bytes([i + 1]) * 32, i + 1)
        return None


def records(n: int, start: int = 0) -> list[bytes]:
    """`n` distinct sample protocol-message records."""
    return [f"protocol message {i}".encode() for i in range(start, start + n)]
