"""Following the chain's events into the local index: incremental, restart-safe, reorg-aware.

`EventIndexer.sync()` reads logs of the watched contracts in block ranges, decodes them,
and appends each range atomically with the new position (see `ledger.index.store`).
Before each range it checks that the last block it read still has the hash it read; if
not, it walks back over the blocks it stored to the newest one the chain still has,
drops everything above it and re-reads from there.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.exceptions import BlockNotFound

from ledger.client.connection import rpc
from ledger.errors import IndexerError
from ledger.index.decode import EventSpec, event_specs, links_of
from ledger.index.facts import Fact, fact_of
from ledger.index.store import EventRow, EventStore, Position, args_json
from ledger.index.transport import RawRPC

RPC_BATCH = 500  # JSON-RPC requests per batch (the embedded node takes up to 1,000)
TARGET_LOGS = 10_000  # logs per eth_getLogs answer above which the block range is halved
_CHECKSUMS: dict[str, str] = {}


def _checksum(address: str) -> str:
    found = _CHECKSUMS.get(address)
    if found is None:
        if len(_CHECKSUMS) > 100_000:
            _CHECKSUMS.clear()
        found = _CHECKSUMS[address] = Web3.to_checksum_address(address)
    return found


class HistoryChanged(IndexerError):
    """A block the index already holds has a different hash on the chain now (a reorg or a rewrite)."""

    def __init__(self, height: int, indexed: bytes, now: bytes | None) -> None:
        self.height, self.indexed, self.now = height, indexed, now
        found = "no block" if now is None else f"0x{now.hex()[:16]}…"
        super().__init__(
            f"history changed at block {height}: indexed 0x{indexed.hex()[:16]}…, the chain now has {found}"
            " (on a finality-sealed chain this is a rewrite, not a reorg)"
        )


@dataclass(frozen=True)
class _Read:
    """One block range as read from the node and decoded, ready to append."""

    start: int
    end: int
    rows: list[EventRow]
    links: list[tuple[tuple[str, str], ...]]
    facts: list[Fact | None]
    blocks: list[tuple[int, bytes, int]]  # (number, hash, time) of the blocks read
    tip: bytes  # the hash of block `end`


@dataclass(frozen=True)
class SyncResult:
    """What one `sync()` did."""

    from_block: int
    to_block: int
    events_added: int
    reorg_at: int | None  # the first block re-read because its hash had changed, if any


class EventIndexer:
    """Index the events of `contracts` ({name: (address, abi)}) on `w3` into `store`."""

    def __init__(
        self,
        w3: Web3,
        store: EventStore | str | Path,
        contracts: Mapping[str, tuple[str, Sequence[Mapping[str, Any]]]],
        *,
        start_block: int = 0,
        batch_blocks: int = 500,
    ) -> None:
        self.w3 = w3
        self.store = store if isinstance(store, EventStore) else EventStore(store)
        self.start_block = start_block
        self.batch_blocks = batch_blocks
        self._rpc = RawRPC(w3)
        # (emitter, topic0) → spec, keyed by the hex strings a log arrives with: checksummed as the
        # embedded node and anvil spell it, and in lower case as other nodes may.
        self._by_hex: dict[tuple[str, str], EventSpec] = {}
        self._addresses = []
        for name, (address, abi) in contracts.items():
            checksum = Web3.to_checksum_address(address)
            self._addresses.append(checksum)
            for topic, spec in event_specs(name, abi).items():
                for spelling in (checksum, checksum.lower()):
                    self._by_hex[(spelling, "0x" + topic.hex())] = spec

    def sync(self, to_block: int | None = None, *, accept_reorg: bool = False) -> SyncResult:
        """Index up to `to_block` (default: the head), batch by batch.

        A changed block under the indexed tip raises `HistoryChanged` and leaves the index as it
        was; with `accept_reorg` the index is rewound to the common ancestor and re-read.
        """
        head = to_block if to_block is not None else rpc(lambda: self.w3.eth.block_number, what="read the head")
        reorg_at = self._check_tip(accept_reorg)
        first = self.store.position(self.start_block).next_block
        added = 0
        # Reading and decoding range k+1 overlaps writing range k (SQLite and the node work outside the GIL).
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="custos-index-read") as reader:
            start = first
            pending = (
                reader.submit(self._read, start, min(head, start + self.batch_blocks - 1)) if start <= head else None
            )
            while pending is not None:
                read = pending.result()
                start = read.end + 1
                pending = (
                    reader.submit(self._read, start, min(head, start + self.batch_blocks - 1))
                    if start <= head
                    else None
                )
                added += self._write(read)
        return SyncResult(first, head, added, reorg_at)

    def _read(self, start: int, end: int) -> _Read:
        """Logs of blocks start..end that decode with the watched ABIs, and the blocks they sit in."""
        logs = rpc(
            lambda: self._rpc.call(
                "eth_getLogs",
                [{"fromBlock": hex(start), "toBlock": hex(end), "address": self._addresses}],
                f"read logs of blocks {start}..{end}",
            ),
            what=f"read logs of blocks {start}..{end}",
        )
        # Anonymous or not in the ABI: nothing an auditor could read from it.
        known = [(log, spec) for log in logs if log["topics"] and (spec := self._spec_of(log)) is not None]
        if len(known) > TARGET_LOGS and self.batch_blocks > 1:  # keep one answer's size bounded
            self.batch_blocks = max(1, self.batch_blocks // 2)
        full = {int(log["blockNumber"], 16) for log, _ in known}
        blocks = self._blocks(sorted(full | {end}), full=full)
        senders = {tx["hash"]: tx["from"] for b in blocks.values() for tx in b["transactions"] if isinstance(tx, dict)}
        times = {n: int(b["timestamp"], 16) for n, b in blocks.items()}
        rows, links, facts = self._rows(known, times, senders)
        stored = [(n, bytes.fromhex(b["hash"][2:]), times[n]) for n, b in blocks.items()]
        return _Read(start, end, rows, links, facts, stored, bytes.fromhex(blocks[end]["hash"][2:]))

    def _write(self, read: _Read) -> int:
        """Append a decoded range, with the new position, in one transaction."""
        self.store.append_rows(
            read.rows, read.links, read.blocks, Position(read.end + 1, read.end, read.tip), read.facts
        )
        return len(read.rows)

    def _rows(
        self, known: Sequence[tuple[Any, EventSpec]], times: Mapping[int, int], senders: Mapping[str, str]
    ) -> tuple[list[EventRow], list[tuple[tuple[str, str], ...]], list[Fact | None]]:
        """Logs as `events` rows, their links and job facts (no IndexedEvent in between: this runs per event).

        What a transaction's logs share (block, hashes, time, sender) is converted once per transaction.
        """
        rows: list[EventRow] = []
        links, facts = [], []
        per_tx: dict[str, tuple[int, int, bytes, bytes, int, str]] = {}
        for log, spec in known:
            tx_hex = log["transactionHash"]
            tx = per_tx.get(tx_hex)
            if tx is None:
                number = int(log["blockNumber"], 16)
                tx = per_tx[tx_hex] = (
                    number,
                    int(log["transactionIndex"], 16),
                    bytes.fromhex(tx_hex[2:]),
                    bytes.fromhex(log["blockHash"][2:]),
                    times[number],
                    _checksum(senders[tx_hex]),
                )
            number, tx_index, tx_hash, block_hash, when, actor = tx
            topics_hex = log["topics"]
            joined = bytes.fromhex("".join([t[2:] for t in topics_hex]))
            if len(joined) != 32 * len(topics_hex):
                raise IndexerError(f"a log of block {number} has a topic that is not 32 bytes")
            topics = [joined[i : i + 32] for i in range(0, len(joined), 32)]
            data = bytes.fromhex(log["data"][2:])
            args = spec.decode(topics, data)
            rows.append(
                (
                    number,
                    int(log["logIndex"], 16),
                    tx_index,
                    tx_hash,
                    block_hash,
                    when,
                    _checksum(log["address"]),
                    spec.contract,
                    spec.name,
                    actor,
                    args_json(args),
                    joined,
                    data,
                )
            )
            links.append(links_of(args, actor, spec))
            facts.append(fact_of(spec.name, args))
        return rows, links, facts

    def _spec_of(self, log: Any) -> EventSpec | None:
        topic0 = log["topics"][0]
        found = self._by_hex.get((log["address"], topic0))
        return found if found is not None else self._by_hex.get((log["address"].lower(), topic0.lower()))

    def _blocks(self, numbers: Sequence[int], full: set[int]) -> dict[int, Any]:
        """The blocks at `numbers` (with transactions for those in `full`), in JSON-RPC batches."""
        found: dict[int, Any] = {}
        for first in range(0, len(numbers), RPC_BATCH):
            chunk = numbers[first : first + RPC_BATCH]
            calls = [("eth_getBlockByNumber", [hex(n), n in full]) for n in chunk]
            what = f"read blocks {chunk[0]}..{chunk[-1]}"
            answers = rpc(functools.partial(self._rpc.batch, calls, what), what=what)
            for number, block in zip(chunk, answers):
                if block is None:
                    raise IndexerError(f"the node has no block {number} (its head moved back?)")
                found[number] = block
        return found

    def _canonical_hash(self, number: int) -> bytes | None:
        try:
            return bytes(self.w3.eth.get_block(number)["hash"])
        except BlockNotFound:
            return None

    def _check_tip(self, accept_reorg: bool) -> int | None:
        """Detect a changed block at or below the last indexed one; rewind to the common ancestor."""
        position = self.store.position(self.start_block)
        if position.tip_number is None:
            return None
        now = self._canonical_hash(position.tip_number)
        if now == position.tip_hash:
            return None
        if not accept_reorg:
            raise HistoryChanged(position.tip_number, position.tip_hash or b"", now)
        ancestor = self.start_block - 1
        for number, stored_hash in self.store.stored_blocks(below=position.tip_number):
            if self._canonical_hash(number) == bytes(stored_hash):
                ancestor = number
                break
        if ancestor < self.start_block:
            self.store.rewind(ancestor, Position(self.start_block))
        else:
            self.store.rewind(ancestor, Position(ancestor + 1, ancestor, self._canonical_hash(ancestor)))
        return ancestor + 1
