"""AuditAnchor: one transaction per Merkle root of a batch of off-chain audit records.

AUDITOR and VALIDATOR members anchor any batch (`anchor`); a job's participants anchor their own
records of that job (`anchor_job_records`, through the per-job `RootSink` of `job_sink`), filed
under `job_records_tag(job_id)` in their own namespace.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from eth_utils import event_abi_to_log_topic
from web3.exceptions import Web3RPCError

from ledger.anchor import Anchoring, RootSink
from ledger.bindings.base import ContractBinding, hash32
from ledger.client.connection import rpc
from ledger.client.sender import Receipt, TransactionSender
from ledger.deployment import Deployment
from ledger.errors import AnchorError, ConnectionFailed
from ledger.index.log_ranges import ranged_logs

# AuditAnchor.JOB_TAG_PREFIX: the first 16 bytes of every job-records tag ("custos.job-recs", zero-padded).
JOB_TAG_PREFIX = b"custos.job-recs".ljust(16, b"\x00")


def job_records_tag(job_id: int) -> bytes:
    """The tag AuditAnchor files job `job_id`'s record batches under (`jobRecordsTag`): the prefix, then the id."""
    if not 0 <= job_id < 2**128:
        raise ValueError(f"job id {job_id} is outside 0..2^128-1")
    return JOB_TAG_PREFIX + job_id.to_bytes(16, "big")


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

    def __init__(self, sender: TransactionSender, address: str, *, from_block: int = 0) -> None:
        super().__init__(sender, address)
        self.from_block = from_block  # no anchoring before this block (deployment.json's startBlock)
        self._creation: int | None = None

    @classmethod
    def at(cls, sender: TransactionSender, deployment: Deployment) -> AuditAnchor:
        """The binding at the deployment's AuditAnchor, searching logs from its start block."""
        return cls(sender, deployment.audit_anchor, from_block=deployment.start_block)

    def anchor_root(self, root: bytes, count: int, tag: bytes) -> AnchoredRoot:
        """Anchor one batch root."""
        receipt = self._send("anchor", root, count, tag)
        return AnchoredRoot(self._one(receipt, "BatchAnchored")["batchId"], receipt)

    def anchor(self, root: bytes, count: int, tag: bytes) -> Anchoring:
        """`RootSink.anchor`: anchor and say where (with the contract's batch id)."""
        return _anchoring(self.anchor_root(root, count, tag))

    def anchor_job_records(self, job_id: int, root: bytes, count: int) -> AnchoredRoot:
        """Anchor one batch of this member's own records of job `job_id` (it must take part in the job)."""
        receipt = self._send("anchorJobRecords", job_id, root, count)
        return AnchoredRoot(self._one(receipt, "BatchAnchored")["batchId"], receipt)

    def job_sink(self, job_id: int) -> RootSink:
        """The `RootSink` of this member's records of job `job_id` (an `Anchorer` with `job_records_tag(job_id)`)."""
        return JobRecordsSink(self, job_id)

    def batches_of(self, anchored_by: str, tag: bytes) -> list[int]:
        """The batch ids `anchored_by` anchored under `tag`, oldest first."""
        return list(self._call("batchesOf", anchored_by, tag))

    def find(self, root: bytes, tag: bytes) -> Anchoring | None:
        """`RootSink.find`: the first BatchAnchored of this contract by this sender with `root` and `tag`, if any.

        Only this sender's batches count: another member anchoring the same root under the same tag
        (in its own namespace) is not where this member's batch is.

        Nodes bound the block range of one eth_getLogs (the embedded node and most providers to
        10,000 blocks or fewer), so the search walks from the contract's creation to the head in
        ranges, filtered by topic, and halves the range when a node refuses it.
        """
        topic0 = "0x" + event_abi_to_log_topic(self._event_abi("BatchAnchored")).hex()
        topics = [topic0, None, "0x" + root.hex(), "0x" + tag.hex()]
        me = bytes.fromhex(self.sender.address[2:])
        head = rpc(lambda: self.sender.w3.eth.block_number, what="read the head")
        for logs in ranged_logs(lambda a, b: self._logs(a, b, topics), self._created_at(head), head):
            for log in logs:
                if bytes(log["data"])[44:64] != me:  # data: count (word 0), anchoredBy (word 1)
                    continue
                batch_id = int.from_bytes(bytes(log["topics"][1]), "big")
                return Anchoring(batch_id, bytes(log["transactionHash"]), log["blockNumber"])
        return None

    def _logs(self, start: int, end: int, topics: list[Any]) -> list[Any] | None:
        """Logs of blocks start..end with `topics`; None when the node refuses the range."""
        query: Any = {"address": self.address, "fromBlock": start, "toBlock": end, "topics": topics}
        try:
            return list(rpc(lambda: self.sender.w3.eth.get_logs(query), what=f"read logs of blocks {start}..{end}"))
        except ConnectionFailed as exc:
            if end == start or not isinstance(exc.__cause__, Web3RPCError):
                raise
            return None

    def _created_at(self, head: int) -> int:
        """The block the contract was created in: a binary search of eth_getCode (no log can be older)."""
        if self._creation is None:
            low, high = self.from_block, head
            while low < high:
                mid = (low + high) // 2
                code = rpc(
                    functools.partial(self.sender.w3.eth.get_code, self.address, mid),
                    what=f"read the code at block {mid}",
                )
                low, high = (low, mid) if code else (mid + 1, high)
            self._creation = low
        return self._creation

    def _event_abi(self, name: str) -> Any:  # eth-utils' ABIEvent TypedDict, read from the artifact
        return next(item for item in self._contract.abi if item.get("type") == "event" and item.get("name") == name)

    def batch(self, batch_id: int) -> Batch:
        """An anchored batch."""
        root, count, at, by, tag = self._call("batch", batch_id)
        return Batch(batch_id, hash32(root), count, at, by, hash32(tag))

    def verify_record(self, batch_id: int, proof: list[bytes], leaf: bytes) -> bool:
        """The contract's own OpenZeppelin MerkleProof check of a record."""
        return bool(self._call("verifyRecord", batch_id, proof, leaf))


def _anchoring(anchored: AnchoredRoot) -> Anchoring:
    return Anchoring(anchored.batch_id, anchored.receipt.tx_hash, anchored.receipt.block_number)


@dataclass(frozen=True)
class JobRecordsSink:
    """The `RootSink` of one member's records of one job: `AuditAnchor.anchorJobRecords(job_id, root, count)`."""

    contract: AuditAnchor
    job_id: int

    def anchor(self, root: bytes, count: int, tag: bytes) -> Anchoring:
        """Anchor the batch as this job's records; `tag` must be the job's (another job's Anchorer is refused)."""
        if tag != job_records_tag(self.job_id):
            raise AnchorError(f"tag 0x{tag.hex()} is not job {self.job_id}'s records tag")
        return _anchoring(self.contract.anchor_job_records(self.job_id, root, count))

    def find(self, root: bytes, tag: bytes) -> Anchoring | None:
        """Where this member already anchored `root` under `tag`, if it did."""
        return self.contract.find(root, tag)
