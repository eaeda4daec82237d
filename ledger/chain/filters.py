"""eth_getLogs and the polling filters (log, block, pending-transaction)."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eth_bloom import BloomFilter

from ledger.chain.encoding import addr, d, log_json, q
from ledger.chain.errors import LimitExceeded
from ledger.chain.log_index import read_log_record
from ledger.chain.params import InvalidParams, address, block_ref, hash32

if TYPE_CHECKING:
    from ledger.chain.node import Node

# eth_getLogs: blocks per query, logs per answer, seconds per query.
MAX_LOG_RANGE = 10_000
MAX_LOGS = 10_000
LOG_SECONDS = 5.0
# Filters: per client (its IP address), in all, and how long an unpolled one lives.
MAX_FILTERS_PER_CLIENT = 128
MAX_FILTERS = 1_024
FILTER_TTL = 300.0


@dataclass(frozen=True)
class LogQuery:
    """Parsed log criteria: addresses, topic positions (each None or a set), and a block range."""

    addresses: frozenset[bytes]
    topics: tuple[frozenset[bytes] | None, ...]
    from_ref: Any
    to_ref: Any
    block_hash: bytes | None


def log_query(raw: Any) -> LogQuery:
    """Parse a filter object as eth_getLogs / eth_newFilter take it."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidParams("filter: expected an object")
    addrs = raw.get("address")
    addrs = [] if addrs is None else addrs if isinstance(addrs, list) else [addrs]
    topics_raw = raw.get("topics") or []
    if not isinstance(topics_raw, list) or len(topics_raw) > 4:
        raise InvalidParams("topics: expected an array of at most 4 entries")
    topics: list[frozenset[bytes] | None] = []
    for i, t in enumerate(topics_raw):
        if t is None:
            topics.append(None)
        else:
            options = t if isinstance(t, list) else [t]
            topics.append(frozenset(hash32(o, f"topics[{i}]") for o in options) or None)
    block_hash = hash32(raw["blockHash"], "blockHash") if raw.get("blockHash") else None
    if block_hash and (raw.get("fromBlock") or raw.get("toBlock")):
        raise InvalidParams("blockHash cannot be combined with fromBlock/toBlock")
    return LogQuery(
        addresses=frozenset(address(a, "address") for a in addrs),
        topics=tuple(topics),
        from_ref=block_ref(raw.get("fromBlock"), "fromBlock"),
        to_ref=block_ref(raw.get("toBlock"), "toBlock"),
        block_hash=block_hash,
    )


def _bloom_may_match(bloom: int, query: LogQuery) -> bool:
    filt = BloomFilter(bloom)
    if query.addresses and not any(a in filt for a in query.addresses):
        return False
    return all(opts is None or any(t in filt for t in opts) for opts in query.topics)


def _log_matches(log: Any, query: LogQuery) -> bool:
    if query.addresses and log.address not in query.addresses:
        return False
    if len(query.topics) > len(log.topics):
        return False
    return all(opts is None or log.topics[i].to_bytes(32, "big") in opts for i, opts in enumerate(query.topics))


def logs_in_block(node: Node, header: Any, query: LogQuery) -> list[dict[str, Any]]:
    """The matching logs of one block (from its log index record; from its receipts when it has none)."""
    if not _bloom_may_match(header.bloom, query):
        return []
    record = read_log_record(node, header)
    if record is None:
        return _logs_from_receipts(node, header, query)
    tx_hashes, logs = record
    number, block_hash, timestamp = q(header.block_number), d(header.hash), q(header.timestamp)
    addresses, wanted = query.addresses, tuple(enumerate(query.topics))
    tx_json: dict[int, tuple[str, str]] = {}
    out = []
    for log_index, log in enumerate(logs):
        if addresses and log.address not in addresses:
            continue
        if len(wanted) > len(log.topics) or not all(opts is None or log.topics[i] in opts for i, opts in wanted):
            continue
        tx = tx_json.get(log.tx_index)
        if tx is None:
            tx = tx_json[log.tx_index] = (d(tx_hashes[log.tx_index]), q(log.tx_index))
        # The keys and their order are log_json's: one shape whichever path served the block.
        out.append(
            {
                "address": addr(log.address),
                "topics": ["0x" + t.hex() for t in log.topics],
                "data": "0x" + log.data.hex(),
                "blockNumber": number,
                "blockHash": block_hash,
                "blockTimestamp": timestamp,
                "transactionHash": tx[0],
                "transactionIndex": tx[1],
                "logIndex": q(log_index),
                "removed": False,
            }
        )
    return out


def _logs_from_receipts(node: Node, header: Any, query: LogQuery) -> list[dict[str, Any]]:
    block = node.block(header)
    out, log_index = [], 0
    for tx_index, (tx, receipt) in enumerate(zip(block.transactions, node.receipts(header))):
        tx_hash = tx.hash  # computed, not stored: once per transaction, not per log
        for log in receipt.logs:
            if _log_matches(log, query):
                out.append(log_json(header, tx_hash, tx_index, log_index, log))
            log_index += 1
    return out


def logs_in_range(node: Node, query: LogQuery, first: int, last: int) -> list[dict[str, Any]]:
    """Matching logs of canonical blocks first..last (inclusive), within the range, size and time limits."""
    if last - first >= MAX_LOG_RANGE:
        raise LimitExceeded(f"block range too large: at most {MAX_LOG_RANGE} blocks per query")
    deadline = time.monotonic() + LOG_SECONDS
    out: list[dict[str, Any]] = []
    for number in range(first, last + 1):
        out.extend(logs_in_block(node, node.header_by_number(number), query))
        if len(out) > MAX_LOGS:
            raise LimitExceeded(f"query returned more than {MAX_LOGS} results: narrow the block range")
        if time.monotonic() > deadline:
            raise LimitExceeded(f"query timed out after {LOG_SECONDS:g} s: narrow the block range")
    return out


@dataclass
class _Filter:
    kind: str
    query: LogQuery | None
    next_block: int
    seen_pending: set[bytes] = field(default_factory=set)
    touched: float = field(default_factory=time.monotonic)
    client: str = ""


class Filters:
    """Installed filters by id; each poll returns what is new since the previous one.

    Ids are random (one client cannot guess, poll or remove another's filter). A client may
    hold MAX_FILTERS_PER_CLIENT; when all MAX_FILTERS are taken, the least recently polled
    filter of the client holding the most is evicted, so one client cannot starve the rest.
    """

    def __init__(self, max_total: int = MAX_FILTERS, per_client: int = MAX_FILTERS_PER_CLIENT) -> None:
        self._filters: dict[str, _Filter] = {}
        self._lock = threading.Lock()
        self._max_total, self._per_client = max_total, per_client

    def install(
        self,
        kind: str,
        next_block: int,
        query: LogQuery | None = None,
        pending: set[bytes] | None = None,
        client: str = "",
    ) -> str:
        """Install a filter for `client`; returns its id (LimitExceeded past the client's share)."""
        with self._lock:
            now = time.monotonic()
            for fid in [f for f, v in self._filters.items() if now - v.touched > FILTER_TTL]:
                del self._filters[fid]
            held: dict[str, int] = {}
            for filt in self._filters.values():
                held[filt.client] = held.get(filt.client, 0) + 1
            if held.get(client, 0) >= self._per_client:
                raise LimitExceeded(f"too many filters: at most {self._per_client} per client; uninstall some")
            if len(self._filters) >= self._max_total:
                hog = max(held, key=lambda c: held[c])
                victim = min((f for f, v in self._filters.items() if v.client == hog), key=self._touched)
                del self._filters[victim]
            fid = "0x" + secrets.token_hex(16)
            self._filters[fid] = _Filter(kind, query, next_block, set(pending or ()), client=client)
            return fid

    def _touched(self, fid: str) -> float:
        return self._filters[fid].touched

    def get(self, fid: Any) -> _Filter:
        """The filter with id `fid` (touching it), or InvalidParams."""
        with self._lock:
            found = self._filters.get(fid) if isinstance(fid, str) else None
            if found is None:
                raise InvalidParams("filter not found")
            found.touched = time.monotonic()
            return found

    def uninstall(self, fid: Any) -> bool:
        """Remove a filter; False if there was none."""
        with self._lock:
            return self._filters.pop(fid, None) is not None if isinstance(fid, str) else False


def block_hashes(node: Node, first: int, last: int) -> list[str]:
    """Hashes of canonical blocks first..last."""
    return [d(node.header_by_number(n).hash) for n in range(first, last + 1)]
