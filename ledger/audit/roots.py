"""Blocks checked down to their roots: headers from raw RLP, transaction and receipt tries, MPT proofs.

Nothing here trusts a node's JSON for what a header says: a block is taken as its raw RLP
(`debug_getRawBlock`), its hash is recomputed as keccak256 of the header's RLP, and the
transactions root is recomputed from the body. Receipts arrive as JSON (every node serves
`eth_getBlockReceipts`); they are re-encoded as consensus receipts (EIP-2718: `type ‖ rlp(...)`
for typed, `rlp(...)` for legacy) and their trie root compared with the header's
receiptsRoot. A Merkle-Patricia proof here is the list of RLP nodes from the root to the
key `rlp(index)`, as `eth_getProof` gives them for accounts (docs/evidence-bundle.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import rlp
from eth_utils import keccak

from ledger.chain.ordered_trie import ordered_trie_root_and_nodes

# Positions of the header fields an auditor reads (the yellow paper's order, unchanged since London).
PARENT, TX_ROOT, RECEIPTS_ROOT, BLOOM, NUMBER, TIMESTAMP, EXTRA = 0, 4, 5, 6, 8, 11, 12


class RootsError(ValueError):
    """A raw block, receipt or proof cannot be decoded."""


@dataclass(frozen=True)
class RawHeader:
    """A header as RLP, with the fields an audit needs decoded from it (and its recomputed hash)."""

    rlp: bytes
    hash: bytes
    number: int
    parent_hash: bytes
    timestamp: int
    tx_root: bytes
    receipts_root: bytes
    bloom: bytes
    extra_data: bytes

    @classmethod
    def decode(cls, raw: bytes) -> RawHeader:
        """Parse a header's RLP; `RootsError` if it is not a header."""
        try:
            fields = rlp.decode(raw)
            if not isinstance(fields, list) or len(fields) < 15:
                raise RootsError("not a block header")
            return cls(
                raw,
                keccak(raw),
                _int(fields[NUMBER]),
                fields[PARENT],
                _int(fields[TIMESTAMP]),
                fields[TX_ROOT],
                fields[RECEIPTS_ROOT],
                fields[BLOOM],
                fields[EXTRA],
            )
        except (rlp.DecodingError, TypeError) as exc:
            raise RootsError(f"not a block header: {exc}") from exc


@dataclass(frozen=True)
class RawBlock:
    """A block from its RLP: the header and each transaction as the trie stores it."""

    header: RawHeader
    transactions: tuple[bytes, ...]

    @classmethod
    def decode(cls, raw: bytes) -> RawBlock:
        """Parse `debug_getRawBlock`'s answer."""
        try:
            items = rlp.decode(raw)
        except rlp.DecodingError as exc:
            raise RootsError(f"not a block: {exc}") from exc
        if not isinstance(items, list) or len(items) < 3 or not isinstance(items[0], list):
            raise RootsError("not a block: expected [header, transactions, uncles, ...]")
        txs = tuple(t if isinstance(t, bytes) else rlp.encode(t) for t in items[1])
        return cls(RawHeader.decode(rlp.encode(items[0])), txs)

    def tx_root_matches(self) -> bool:
        """The transactions in the body are the ones the header commits to."""
        return trie_root(self.transactions) == self.header.tx_root


def _int(value: bytes) -> int:
    return int.from_bytes(value, "big")


def _bytes(hex_value: str) -> bytes:
    return bytes.fromhex(hex_value[2:] if hex_value.startswith("0x") else hex_value)


def encode_receipt(receipt: Mapping[str, Any]) -> bytes:
    """The consensus encoding of a JSON receipt (status, cumulative gas, bloom, logs)."""
    status = b"\x01" if _hex_int(receipt.get("status", "0x0")) else b""
    logs = [
        [_bytes(log["address"]), [_bytes(t) for t in log["topics"]], _bytes(log["data"])] for log in receipt["logs"]
    ]
    body = rlp.encode(
        [status, _hex_int(receipt["cumulativeGasUsed"]), _bytes(receipt["logsBloom"]), logs],
    )
    kind = _hex_int(receipt.get("type", "0x0"))
    return bytes(body) if kind == 0 else bytes([kind]) + body


def _hex_int(value: Any) -> int:
    return value if isinstance(value, int) else int(value, 16)


def decode_receipt_logs(encoded: bytes) -> list[tuple[bytes, tuple[bytes, ...], bytes]]:
    """(address, topics, data) of every log in a consensus-encoded receipt."""
    body = encoded[1:] if encoded and encoded[0] < 0x7F else encoded
    try:
        fields = rlp.decode(body)
        return [(bytes(a), tuple(bytes(t) for t in topics), bytes(d)) for a, topics, d in fields[3]]
    except (rlp.DecodingError, ValueError, TypeError) as exc:
        raise RootsError(f"not a receipt: {exc}") from exc


def receipt_succeeded(encoded: bytes) -> bool:
    """The receipt's status field says success."""
    body = encoded[1:] if encoded and encoded[0] < 0x7F else encoded
    return bool(rlp.decode(body)[0] == b"\x01")


def trie_root(values: Sequence[bytes]) -> bytes:
    """Root of the ordered trie rlp(i) → values[i] (transactions, receipts)."""
    return ordered_trie_root_and_nodes(values)[0]


def trie_proof(values: Sequence[bytes], index: int) -> list[bytes]:
    """The RLP nodes on the path from the root to key rlp(index), root first."""
    root, nodes = ordered_trie_root_and_nodes(values)
    proof: list[bytes] = []
    path = _nibbles(rlp.encode(index))
    ref: Any = root
    while True:
        if isinstance(ref, bytes):  # a hash: the node is stored apart, so it goes into the proof
            proof.append(nodes[ref])
            node = rlp.decode(nodes[ref])
        else:  # embedded in its parent (under 32 bytes): already in the proof
            node = ref
        if len(node) == 17:
            if not path:
                return proof
            ref, path = node[path[0]], path[1:]
            continue
        prefix, leaf = _decode_path(node[0])
        if leaf:
            return proof
        ref, path = node[1], path[len(prefix) :]


def verify_trie_proof(root: bytes, index: int, proof: Sequence[bytes]) -> bytes:
    """The value at key rlp(index) under `root`, from `proof`; `RootsError` if the proof does not lead there."""
    by_hash = {keccak(node): node for node in proof}
    path = _nibbles(rlp.encode(index))
    ref: Any = root
    try:
        while True:
            if isinstance(ref, bytes):
                if ref not in by_hash:
                    raise RootsError(f"the proof lacks node 0x{ref.hex()}")
                node = rlp.decode(by_hash[ref])
            else:
                node = ref
            if len(node) == 17:
                if not path:
                    return bytes(node[16])
                ref, path = node[path[0]], path[1:]
                if ref == b"":
                    raise RootsError("the key is not in the trie")
            elif len(node) == 2:
                prefix, leaf = _decode_path(node[0])
                if path[: len(prefix)] != prefix:
                    raise RootsError("the key is not in the trie")
                path = path[len(prefix) :]
                if leaf:
                    if path:
                        raise RootsError("the key is not in the trie")
                    return bytes(node[1])
                ref = node[1]
            else:
                raise RootsError("malformed trie node")
    except (rlp.DecodingError, IndexError, TypeError) as exc:
        raise RootsError(f"malformed proof: {exc}") from exc


def _nibbles(key: bytes) -> bytes:
    return bytes(n for b in key for n in (b >> 4, b & 0x0F))


def _decode_path(encoded: bytes) -> tuple[bytes, bool]:
    nibbles = _nibbles(encoded)
    flag = nibbles[0]
    return (nibbles[1:] if flag & 1 else nibbles[2:]), bool(flag & 2)
