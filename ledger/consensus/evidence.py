"""Evidence: misbehaviour a node saw, signed by it, written to etcd under the reporter's own prefix.

Two kinds are detected:
- `invalid-proposal`: a proposal signed by a validator whose block breaks a rule (wrong
  state root, a non-member's transaction, a timestamp ahead of the clock, …);
- `equivocation`: one validator's valid seals over two different blocks in one
  (height, round). A seal in a later round after an abandoned one is not evidence.
Each record is compare-and-create, so a reporter writes each finding once, and signed by the
reporting organisation's key (`Evidence.verify_reporter`); `read_evidence` drops any record whose
signature does not match its reporter.
"""

from __future__ import annotations

import logging

from eth_keys.datatypes import PrivateKey

from ledger.chain.sealing import sealed_by
from ledger.consensus.etcd import EtcdClient
from ledger.consensus.keyspace import Keyspace
from ledger.consensus.messages import Evidence, MessageError
from ledger.consensus.mirror import View

log = logging.getLogger(__name__)

# Equivocation is looked for this many heights below the head (older seals were checked already).
SCAN_DEPTH = 64


class EvidenceLog:
    """Writes this node's findings to etcd."""

    def __init__(self, client: EtcdClient, keyspace: Keyspace, key: PrivateKey) -> None:
        self.client = client
        self.keyspace = keyspace
        self.key = key
        self.reporter = key.public_key.to_canonical_address()
        self._written: set[bytes] = set()

    def record(self, kind: str, offender: bytes, height: int, round_: int, detail: str) -> None:
        """Record one finding (once)."""
        key = self.keyspace.evidence(self.reporter, kind, height, round_, offender)
        if key in self._written:
            return
        evidence = Evidence.make(self.key, self.keyspace.chain_id, kind, offender, height, round_, detail)
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
                signed = {h for h, seal in list(by_hash.items()) if sealed_by(chain_id, h, seal, claimed)}
                if len(signed) >= 2:
                    blocks = ", ".join("0x" + h.hex() for h in sorted(signed))
                    self.record("equivocation", claimed, height, round_, f"sealed {len(signed)} blocks: {blocks}")


def read_evidence(view: View, chain_id: int) -> list[Evidence]:
    """Every evidence record in the mirror signed by its reporter, oldest height first."""
    out = []
    for key, raw in list(view.evidence.items()):
        try:
            evidence = Evidence.from_bytes(raw)
            evidence.verify_reporter(chain_id)
        except MessageError as exc:
            log.info("ignoring an evidence record: %s", exc)
            continue
        # Stored under its signer's own prefix (etcd's permissions let only that organisation write there).
        if b"/evidence/" + evidence.reporter.removeprefix("0x").encode() + b"/" in key:
            out.append(evidence)
    return sorted(out, key=lambda e: (e.height, e.round, e.kind, e.offender))
