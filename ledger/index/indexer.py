"""Following the chain's events into the local index: incremental, restart-safe, reorg-aware.

`EventIndexer.sync()` reads logs of the watched contracts in block ranges, decodes them,
and appends each range atomically with the new position (see `ledger.index.store`).
Before each range it checks that the last block it read still has the hash it read; if
not, it walks back over the blocks it stored to the newest one the chain still has,
drops everything above it and re-reads from there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.exceptions import BlockNotFound

from ledger.client.connection import rpc
from ledger.errors import IndexerError
from ledger.index.decode import EventSpec, event_specs, links_of
from ledger.index.store import EventStore, IndexedEvent, Position


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
        self._specs: dict[tuple[str, bytes], EventSpec] = {}
        self._addresses = []
        for name, (address, abi) in contracts.items():
            checksum = Web3.to_checksum_address(address)
            self._addresses.append(checksum)
            for topic, spec in event_specs(name, abi).items():
                self._specs[(checksum, topic)] = spec

    def sync(self, to_block: int | None = None, *, accept_reorg: bool = False) -> SyncResult:
        """Index up to `to_block` (default: the head), batch by batch.

        A changed block under the indexed tip raises `HistoryChanged` and leaves the index as it
        was; with `accept_reorg` the index is rewound to the common ancestor and re-read.
        """
        head = to_block if to_block is not None else rpc(lambda: self.w3.eth.block_number, what="read the head")
        reorg_at = self._check_tip(accept_reorg)
        position = self.store.position(self.start_block)
        first, added = position.next_block, 0
        while position.next_block <= head:
            end = min(head, position.next_block + self.batch_blocks - 1)
            added += self._index_range(position.next_block, end)
            position = self.store.position(self.start_block)
        return SyncResult(first, head, added, reorg_at)

    def _index_range(self, start: int, end: int) -> int:
        logs = rpc(
            lambda: self.w3.eth.get_logs({"fromBlock": start, "toBlock": end, "address": self._addresses}),
            what=f"read logs of blocks {start}..{end}",
        )
        blocks: dict[int, Any] = {}
        events = []
        for log in logs:
            if (
                not log["topics"]
                or (Web3.to_checksum_address(log["address"]), bytes(log["topics"][0])) not in self._specs
            ):
                continue  # anonymous or not in the ABI: nothing an auditor could read from it
            number = int(log["blockNumber"])
            if number not in blocks:
                blocks[number] = self._block(number, full=True)
            events.append(self._event(log, blocks[number]))
        tip = blocks.get(end) or self._block(end, full=False)
        stored = [(n, bytes(b["hash"]), int(b["timestamp"])) for n, b in blocks.items()]
        stored.append((end, bytes(tip["hash"]), int(tip["timestamp"])))
        self.store.append(events, stored, Position(end + 1, end, bytes(tip["hash"])))
        return len(events)

    def _event(self, log: Any, block: Any) -> IndexedEvent:
        address = Web3.to_checksum_address(log["address"])
        topics = tuple(bytes(t) for t in log["topics"])
        spec = self._specs[(address, topics[0])]
        data = bytes(log["data"])
        args = spec.decode(topics, data)
        tx = block["transactions"][int(log["transactionIndex"])]
        actor = Web3.to_checksum_address(tx["from"])
        return IndexedEvent(
            int(log["blockNumber"]),
            int(log["logIndex"]),
            int(log["transactionIndex"]),
            bytes(log["transactionHash"]),
            bytes(log["blockHash"]),
            int(block["timestamp"]),
            address,
            spec.contract,
            spec.name,
            actor,
            args,
            topics,
            data,
            links_of(args, actor, spec),
        )

    def _block(self, number: int, *, full: bool) -> Any:
        return rpc(lambda: self.w3.eth.get_block(number, full_transactions=full), what=f"read block {number}")

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
