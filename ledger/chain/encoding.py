"""JSON-RPC encodings of blocks, transactions, receipts and logs (the shapes clients validate)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import rlp
from eth._utils.address import generate_contract_address
from eth.abc import BlockAPI, BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI
from eth_utils import to_checksum_address

if TYPE_CHECKING:
    from ledger.chain.node import Node


def q(value: int) -> str:
    """Hex quantity."""
    return hex(value)


def d(value: bytes) -> str:
    """Hex data."""
    return "0x" + bytes(value).hex()


@functools.lru_cache(maxsize=65_536)
def addr(value: bytes) -> str:
    """Checksummed address (cached: a chain has few addresses, and every log names one)."""
    return to_checksum_address(value)


def header_json(header: BlockHeaderAPI) -> dict[str, Any]:
    """The header fields of a block object."""
    return {
        "number": q(header.block_number),
        "hash": d(header.hash),
        "parentHash": d(header.parent_hash),
        "nonce": d(header.nonce),
        "mixHash": d(header.mix_hash),
        "sha3Uncles": d(header.uncles_hash),
        "logsBloom": d(header.bloom.to_bytes(256, "big")),
        "transactionsRoot": d(header.transaction_root),
        "stateRoot": d(header.state_root),
        "receiptsRoot": d(header.receipt_root),
        "miner": addr(header.coinbase),
        "difficulty": q(header.difficulty),
        "totalDifficulty": "0x0",
        "extraData": d(header.extra_data),
        "gasLimit": q(header.gas_limit),
        "gasUsed": q(header.gas_used),
        "timestamp": q(header.timestamp),
        "baseFeePerGas": q(header.base_fee_per_gas),
        "withdrawalsRoot": d(header.withdrawals_root),
        "blobGasUsed": q(header.blob_gas_used),
        "excessBlobGas": q(header.excess_blob_gas),
        "parentBeaconBlockRoot": d(header.parent_beacon_block_root),
    }


def block_json(block: BlockAPI, full: bool) -> dict[str, Any]:
    """A block object with transaction hashes, or full transactions when `full`."""
    out = header_json(block.header)
    txs = block.transactions
    out["transactions"] = (
        [tx_json(tx, block.header, i) for i, tx in enumerate(txs)] if full else [d(tx.hash) for tx in txs]
    )
    out["uncles"] = []
    out["withdrawals"] = []
    out["size"] = q(len(rlp.encode(block)))
    return out


def tx_json(tx: SignedTransactionAPI, header: BlockHeaderAPI | None, index: int | None) -> dict[str, Any]:
    """A transaction object; block fields are null while it is pending."""
    type_id = getattr(tx, "type_id", None) or 0
    out: dict[str, Any] = {
        "hash": d(tx.hash),
        "type": q(type_id),
        "nonce": q(tx.nonce),
        "from": addr(tx.sender),
        "to": addr(tx.to) if tx.to else None,
        "value": q(tx.value),
        "gas": q(tx.gas),
        "input": d(tx.data),
        "r": q(tx.r),
        "s": q(tx.s),
        "blockHash": d(header.hash) if header else None,
        "blockNumber": q(header.block_number) if header else None,
        "transactionIndex": q(index) if index is not None else None,
    }
    if type_id == 0:
        out["gasPrice"] = q(tx.gas_price)
        out["v"] = q(tx.v)  # type: ignore[attr-defined]  # legacy (type 0) transactions carry v; the API class omits it
        if tx.chain_id is not None:
            out["chainId"] = q(tx.chain_id)
        return out
    out["chainId"] = q(tx.chain_id)
    out["v"] = q(tx.y_parity)
    out["yParity"] = q(tx.y_parity)
    out["accessList"] = [
        {"address": addr(a), "storageKeys": [d(k.to_bytes(32, "big")) for k in keys]} for a, keys in tx.access_list
    ]
    if type_id == 1:
        out["gasPrice"] = q(tx.gas_price)
        return out
    out["maxFeePerGas"] = q(tx.max_fee_per_gas)
    out["maxPriorityFeePerGas"] = q(tx.max_priority_fee_per_gas)
    base = header.base_fee_per_gas if header else 0
    out["gasPrice"] = q(effective_gas_price(tx, base))
    return out


def effective_gas_price(tx: SignedTransactionAPI, base_fee: int) -> int:
    """What the transaction paid per gas in a block with `base_fee`."""
    if (getattr(tx, "type_id", None) or 0) in (0, 1):
        return tx.gas_price
    return min(tx.max_fee_per_gas, base_fee + tx.max_priority_fee_per_gas)


def receipt_json(node: Node, block: BlockAPI, index: int) -> dict[str, Any]:
    """The receipt object of the transaction at `index` in `block`."""
    header = block.header
    receipts = node.receipts(header)
    receipt, tx = receipts[index], block.transactions[index]
    previous = receipts[index - 1].gas_used if index else 0
    first_log = sum(len(r.logs) for r in receipts[:index])
    sender = tx.sender
    return {
        "transactionHash": d(tx.hash),
        "transactionIndex": q(index),
        "blockHash": d(header.hash),
        "blockNumber": q(header.block_number),
        "from": addr(sender),
        "to": addr(tx.to) if tx.to else None,
        "contractAddress": addr(generate_contract_address(sender, tx.nonce)) if not tx.to else None,
        "cumulativeGasUsed": q(receipt.gas_used),
        "gasUsed": q(receipt.gas_used - previous),
        "effectiveGasPrice": q(effective_gas_price(tx, header.base_fee_per_gas)),
        "status": "0x1" if receipt.state_root == b"\x01" else "0x0",
        "logsBloom": d(receipt.bloom.to_bytes(256, "big")),
        "logs": [log_json(header, tx.hash, index, first_log + i, lg) for i, lg in enumerate(receipt.logs)],
        "type": q(getattr(tx, "type_id", None) or 0),
    }


def log_json(header: BlockHeaderAPI, tx_hash: bytes, tx_index: int, log_index: int, log: Any) -> dict[str, Any]:
    """A log object."""
    return {
        "address": addr(log.address),
        "topics": [d(t.to_bytes(32, "big")) for t in log.topics],
        "data": d(log.data),
        "blockNumber": q(header.block_number),
        "blockHash": d(header.hash),
        "blockTimestamp": q(header.timestamp),
        "transactionHash": d(tx_hash),
        "transactionIndex": q(tx_index),
        "logIndex": q(log_index),
        "removed": False,
    }


def receipt_status_ok(receipt: ReceiptAPI) -> bool:
    """Whether a post-Byzantium receipt records success."""
    return receipt.state_root == b"\x01"
