"""Evidence: misbehaviour a node saw, written to etcd under the reporter's own prefix and named by its author.

Two kinds are detected:
- `invalid-proposal`: a proposal signed by a validator whose block breaks a rule (wrong
  state root, a non-member's transaction, a timestamp ahead of the clock, …);
- `equivocation`: one validator's valid seals over two different blocks in one
  (height, round). A seal in a later round after an abandoned one is not evidence.
Each record is compare-and-create, so a reporter writes each finding once.
"""

from __future__ import annotations

import logging

from ledger.chain.sealing import SealError, recover_sealer
from ledger.consensus.etcd import EtcdClient
from ledger.consensus.keyspace import Keyspace
from ledger.consensus.messages import Evidence
from ledger.consensus.mirror import View

log = logging.getLogger(__name__)

# Equivocation is looked for this many heights below the head (older seals were checked already).
SCAN_DEPTH = 64


class EvidenceLog:
    """Writes this node's findings to etcd."""

    def __init__(self, client: EtcdClient, keyspace: Keyspace, reporter: bytes) -> None:
        self.client = client
        self.keyspace = keyspace
        self.reporter = reporter
        self._written: set[bytes] = set()

    def record(self, kind: str, offender: bytes, height: int, round_: int, detail: str) -> None:
        """Record one finding (once)."""
        key = self.keyspace.evidence(self.reporter, kind, height, round_, offender)
        if key in self._written:
            return
        evidence = Evidence(kind, "0x" + offender.hex(), height, round_, detail, "0x" + self.reporter.hex())
        log.warning("evidence: %s by %s at (%d, %d): %s", kind, evidence.offender, height, round_, detail)
        self.client.create(key, evidence.to_bytes())
        self._written.add(key)

    def scan_seals(self, view: View, chain_id: int, head: int) -> None:
        """Record every validator whose valid seals cover two blocks in one (height, round)."""
        for (height, round_), by_org in list(view.seals.items()):
            if height < head - SCAN_DEPTH:
                continue
            for claimed, by_hash in list(by_org.items()):
                if len(by_hash) < 2:
                    continue
                signed = {h for h, seal in list(by_hash.items()) if _signed_by(chain_id, h, seal, claimed)}
                if len(signed) >= 2:
                    blocks = ", ".join("0x" + h.hex() for h in sorted(signed))
                    self.record("equivocation", claimed, height, round_, f"sealed {len(signed)} blocks: {blocks}")


def _signed_by(chain_id: int, block_hash: bytes, seal: bytes, claimed: bytes) -> bool:
    try:
        return recover_sealer(chain_id, block_hash, seal) == claimed
    except SealError:
        return False


def read_evidence(view: View) -> list[Evidence]:
    """Every evidence record in the mirror, oldest height first."""
    out = []
    for raw in list(view.evidence.values()):
        try:
            out.append(Evidence.from_bytes(raw))
        except Exception:  # noqa: BLE001 — a malformed record is skipped, not fatal
            continue
    return sorted(out, key=lambda e: (e.height, e.round, e.kind, e.offender))
