"""Anchored batches: a batch root is in the chain where its inclusion proof says, logged by AuditAnchor."""

from __future__ import annotations

from web3 import Web3

from ledger.anchor import InclusionProof
from ledger.audit.chainview import ChainView
from ledger.audit.report import FAILED, PASSED, Check

BATCH_ANCHORED = Web3.keccak(text="BatchAnchored(uint256,bytes32,bytes32,uint64,address)")


def root_anchored(view: ChainView, anchor: str | None, proof: InclusionProof, subject: str) -> Check:
    """The proof's batch root is what AuditAnchor (`anchor`) logged in the proof's sealed, root-checked block."""
    if proof.tx_hash is None or proof.block_number is None:
        return Check("root anchored", subject, FAILED, "the batch was never anchored")
    if anchor is None:
        return Check("root anchored", subject, FAILED, "the deployment has no AuditAnchor")
    block = view.block(proof.block_number)
    bad = [c for c in block.checks if c.status == FAILED]
    if bad:
        return Check("root anchored", subject, FAILED, f"the anchoring block fails {bad[0].name}")
    for receipt in block.receipts_json:
        if bytes.fromhex(str(receipt["transactionHash"])[2:]) != proof.tx_hash:
            continue
        for log in receipt["logs"]:
            topics = [bytes.fromhex(t[2:]) for t in log["topics"]]
            if len(topics) < 3 or topics[0] != BATCH_ANCHORED or topics[2] != proof.root:
                continue
            if Web3.to_checksum_address(log["address"]) != anchor:
                return Check("root anchored", subject, FAILED, f"anchored by {log['address']}, not AuditAnchor")
            if int.from_bytes(topics[1], "big") != proof.batch_id:
                return Check(
                    "root anchored", subject, FAILED, f"the chain's batch id is {int.from_bytes(topics[1], 'big')}"
                )
            return Check("root anchored", subject, PASSED, f"batch {proof.batch_id}, block {proof.block_number}")
        return Check("root anchored", subject, FAILED, "the anchoring transaction anchored another root")
    return Check("root anchored", subject, FAILED, f"no anchoring transaction 0x{proof.tx_hash.hex()} in its block")
