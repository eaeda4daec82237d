"""AuditAnchor: one transaction per Merkle root of a batch of off-chain audit records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils import event_abi_to_log_topic

from ledger.anchor import Anchoring
from ledger.bindings.base import ContractBinding, hash32
from ledger.client.sender import Receipt


@dataclass(frozen=True)
class AnchoredRoot:
    """A root just anchored: the contract's batch id and the receipt."""

    batch_id: int
    receipt: Receipt


@dataclass(frozen=True)
class Batch:
    """An anchored batch as the contract holds it."""

    batch_id: int
    root: bytes
    count: int
    anchored_at: int
    anchored_by: str
    tag: bytes


class AuditAnchor(ContractBinding):
    """The AuditAnchor contract; also the `RootSink` an `ledger.anchor.Anchorer` anchors through."""

    NAME = "AuditAnchor"

    def anchor_root(self, root: bytes, count: int, tag: bytes) -> AnchoredRoot:
        """Anchor one batch root."""
        receipt = self._send("anchor", root, count, tag)
        return AnchoredRoot(self._one(receipt, "BatchAnchored")["batchId"], receipt)

    def anchor(self, root: bytes, count: int, tag: bytes) -> Anchoring:
        """`RootSink.anchor`: anchor and say where (with the contract's batch id)."""
        anchored = self.anchor_root(root, count, tag)
        return Anchoring(anchored.batch_id, anchored.receipt.tx_hash, anchored.receipt.block_number)

    def find(self, root: bytes, tag: bytes) -> Anchoring | None:
        """`RootSink.find`: the first BatchAnchored of this contract with `root` and `tag`, if any."""
        topic0 = "0x" + event_abi_to_log_topic(self._event_abi("BatchAnchored")).hex()
        logs = self.sender.w3.eth.get_logs(
            {
                "address": self.address,
                "fromBlock": 0,
                "toBlock": "latest",
                "topics": [topic0, None, "0x" + root.hex(), "0x" + tag.hex()],
            }
        )
        if not logs:
            return None
        log = logs[0]
        return Anchoring(
            int.from_bytes(bytes(log["topics"][1]), "big"), bytes(log["transactionHash"]), log["blockNumber"]
        )

    def _event_abi(self, name: str) -> Any:  # eth-utils' ABIEvent TypedDict, read from the artifact
        return next(item for item in self._contract.abi if item.get("type") == "event" and item.get("name") == name)

    def batch(self, batch_id: int) -> Batch:
        """An anchored batch."""
        root, count, at, by, tag = self._call("batch", batch_id)
        return Batch(batch_id, hash32(root), count, at, by, hash32(tag))

    def verify_record(self, batch_id: int, proof: list[bytes], leaf: bytes) -> bool:
        """The contract's own OpenZeppelin MerkleProof check of a record."""
        return bool(self._call("verifyRecord", batch_id, proof, leaf))
