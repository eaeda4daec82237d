"""The node's log index: each block's logs packed once, when the block is committed.

eth_getLogs used to rebuild py-evm receipt objects (RLP-decoding every log) for every block
of every query, and that capped indexing at a few thousand logs a second. Now the node
writes, in the same LMDB transaction as the block, one packed record per block with what a
log query needs: each transaction's hash, and per log its transaction index, emitter,
topics and data. A query reads one record per block whose bloom may match, filters on the
raw bytes, and formats only what matches.

Crash safety: a record commits atomically with its block, so a killed node never holds a
block without its record, nor half a record. A block without one (a store written before
the index existed) is served from its receipts as before. A record is derived data outside
every root, so `verify_log_record` recomputes it from the receipts (which the store checks
against the header's receipt root): the node does so for each block it verifies on open
(the newest ones), and `custos chain verify` for every block; a record that differs is
`StoreCorrupted`.
Size: 4 bytes per block and 32 per transaction, plus per log 25 bytes, 32 per topic and
its data (about 185 bytes for a three-topic log with one data word: ~180 MB per 1M such logs).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from eth.abc import BlockAPI, BlockHeaderAPI, ReceiptAPI

from ledger.chain.errors import StoreCorrupted

if TYPE_CHECKING:
    from ledger.chain.reader import ChainReader

LOG_INDEX_PREFIX = b"custos:logs:"
_COUNT = struct.Struct("<I")
_LOG_HEAD = struct.Struct("<IB20s")  # transaction index, topic count, emitter


class PackedLog(NamedTuple):
    """One log as the index holds it."""

    tx_index: int
    address: bytes
    topics: tuple[bytes, ...]
    data: bytes


def log_record_key(block_hash: bytes) -> bytes:
    """Where the log record of `block_hash` is stored (by hash: a record never outlives its block)."""
    return LOG_INDEX_PREFIX + block_hash


def pack(tx_hashes: Sequence[bytes], receipts: Sequence[ReceiptAPI]) -> bytes:
    """The record of a block: its transaction hashes, then every log in block order."""
    parts = [_COUNT.pack(len(tx_hashes)), *tx_hashes]
    logs = [(i, log) for i, receipt in enumerate(receipts) for log in receipt.logs]
    parts.append(_COUNT.pack(len(logs)))
    for tx_index, log in logs:
        parts.append(_LOG_HEAD.pack(tx_index, len(log.topics), log.address))
        parts.extend(t.to_bytes(32, "big") for t in log.topics)
        parts.append(_COUNT.pack(len(log.data)))
        parts.append(log.data)
    return b"".join(parts)


def unpack(raw: bytes) -> tuple[list[bytes], list[PackedLog]]:
    """(transaction hashes, logs) of a record; `StoreCorrupted` if it is not one."""
    try:
        return _unpack(raw)
    except (struct.error, ValueError, IndexError) as exc:
        raise StoreCorrupted(f"store corrupted: a log index record cannot be read ({exc})") from exc


def _unpack(raw: bytes) -> tuple[list[bytes], list[PackedLog]]:
    # Plain bytes slicing and local names: this loop runs once per log served.
    count = _COUNT.unpack_from(raw, 0)[0]
    at = 4 + 32 * count
    hashes = [raw[i : i + 32] for i in range(4, at, 32)]
    logs_count = _COUNT.unpack_from(raw, at)[0]
    at += 4
    logs: list[PackedLog] = []
    head, count_of, new = _LOG_HEAD.unpack_from, _COUNT.unpack_from, PackedLog._make
    for _ in range(logs_count):
        tx_index, topic_count, address = head(raw, at)
        at += 25
        end = at + 32 * topic_count
        topics = tuple([raw[i : i + 32] for i in range(at, end, 32)])
        size = count_of(raw, end)[0]
        at = end + 4 + size
        if at > len(raw) or tx_index >= count:
            raise ValueError("truncated record")
        logs.append(new((tx_index, address, topics, raw[end + 4 : at])))
    if at != len(raw):
        raise ValueError(f"{len(raw) - at} trailing bytes")
    return hashes, logs


def record_logs(reader: ChainReader, block: BlockAPI) -> None:
    """Write the record of `block` into the store's open write (call before the block's commit)."""
    reader.db[log_record_key(block.hash)] = pack([tx.hash for tx in block.transactions], reader.receipts(block.header))


def read_log_record(reader: ChainReader, header: BlockHeaderAPI) -> tuple[list[bytes], list[PackedLog]] | None:
    """The record of the block with `header`, or None when the store has none for it."""
    try:
        raw = reader.db[log_record_key(header.hash)]
    except KeyError:
        return None
    return unpack(bytes(raw))


def verify_log_record(reader: ChainReader, header: BlockHeaderAPI) -> None:
    """Recompute the record of `header`'s block from its receipts; `StoreCorrupted` if the stored one differs."""
    try:
        stored = bytes(reader.db[log_record_key(header.hash)])
    except KeyError:
        return  # a block from before the index: served from its receipts
    block = reader.block(header)
    if stored != pack([tx.hash for tx in block.transactions], reader.receipts(header)):
        raise StoreCorrupted(f"store corrupted: block {header.block_number}'s log index differs from its receipts")
