"""Following the chain's events into the local index: incremental, restart-safe, reorg-aware.

`EventIndexer.sync()` reads logs of the watched contracts in block ranges, decodes them,
and appends each range atomically with the new position (see `ledger.index.store`).
Before each range it checks that the last block it read still has the hash it read; if
not, it walks back over the blocks it stored to the newest one the chain still has,
drops everything above it and re-reads from there.
"""

from __future__ import annotations

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
from ledger.index.store import EventStore, IndexedEvent, Position

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
    """One block range as read from the node, before decoding."""

    start: int
    end: int
    logs: list[Any]
    blocks: dict[int, Any]


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
        first = self.store.position(self.start_block).next_block
        added = 0
        # Reading range k+1 from the node overlaps decoding and writing range k (the node is I/O to us).
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
        logs = self._request(
            "eth_getLogs",
            [{"fromBlock": hex(start), "toBlock": hex(end), "address": self._addresses}],
            f"read logs of blocks {start}..{end}",
        )
        known = []
        for log in logs:
            topics = log["topics"]
            if topics and (_checksum(log["address"]), bytes.fromhex(topics[0][2:])) in self._specs:
                known.append(log)  # anonymous or not in the ABI: nothing an auditor could read from it
        if len(known) > TARGET_LOGS and self.batch_blocks > 1:  # keep one answer's size bounded
            self.batch_blocks = max(1, self.batch_blocks // 2)
        numbers = sorted({int(log["blockNumber"], 16) for log in known} | {end})
        return _Read(start, end, known, self._blocks(numbers, full={int(log["blockNumber"], 16) for log in known}))

    def _write(self, read: _Read) -> int:
        """Decode a read range and append it, with the new position, in one transaction."""
        blocks = read.blocks
        senders = {tx["hash"]: tx["from"] for b in blocks.values() for tx in b["transactions"] if isinstance(tx, dict)}
        events = [self._event(log, blocks, senders) for log in read.logs]
        stored = [(n, bytes.fromhex(b["hash"][2:]), int(b["timestamp"], 16)) for n, b in blocks.items()]
        tip = bytes.fromhex(blocks[read.end]["hash"][2:])
        self.store.append(events, stored, Position(read.end + 1, read.end, tip))
        return len(events)

    def _event(self, log: Any, blocks: Mapping[int, Any], senders: Mapping[str, str]) -> IndexedEvent:
        address = _checksum(log["address"])
        topics = tuple(bytes.fromhex(t[2:]) for t in log["topics"])
        spec = self._specs[(address, topics[0])]
        data = bytes.fromhex(log["data"][2:])
        args = spec.decode(topics, data)
        number = int(log["blockNumber"], 16)
        actor = _checksum(senders[log["transactionHash"]])
        return IndexedEvent(
            number,
            int(log["logIndex"], 16),
            int(log["transactionIndex"], 16),
            bytes.fromhex(log["transactionHash"][2:]),
            bytes.fromhex(log["blockHash"][2:]),
            int(blocks[number]["timestamp"], 16),
            address,
            spec.contract,
            spec.name,
            actor,
            args,
            topics,
            data,
            links_of(args, actor, spec),
        )

    def _blocks(self, numbers: Sequence[int], full: set[int]) -> dict[int, Any]:
        """The blocks at `numbers` (with transactions for those in `full`), in JSON-RPC batches."""
        found: dict[int, Any] = {}
        for first in range(0, len(numbers), RPC_BATCH):
            chunk = numbers[first : first + RPC_BATCH]
            calls = [("eth_getBlockByNumber", [hex(n), n in full]) for n in chunk]
            for number, block in zip(chunk, self._batch(calls, f"read blocks {chunk[0]}..{chunk[-1]}")):
                if block is None:
                    raise IndexerError(f"the node has no block {number} (its head moved back?)")
                found[number] = block
        return found

    def _request(self, method: str, params: list[Any], what: str) -> Any:
        answer = rpc(lambda: self.w3.provider.make_request(method, params), what=what)  # type: ignore[arg-type]  # web3 types RPC method names as an enum of its own methods
        if "error" in answer:
            raise IndexerError(f"could not {what}: {answer['error'].get('message')}")
        return answer["result"]

    def _batch(self, calls: list[tuple[str, list[Any]]], what: str) -> list[Any]:
        if len(calls) == 1:
            return [self._request(calls[0][0], calls[0][1], what)]
        answers = rpc(lambda: self.w3.provider.make_batch_request(calls), what=what)  # type: ignore[attr-defined]  # make_batch_request exists on the HTTP and embedded providers, not on the base class
        if not isinstance(answers, list):
            raise IndexerError(f"could not {what}: {answers.get('error')}")
        if any("error" in a for a in answers):
            raise IndexerError(f"could not {what}: {next(a['error'] for a in answers if 'error' in a)}")
        return [a["result"] for a in answers]

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
