"""Indexing rate end to end: `EventIndexer.sync()` over HTTP from the embedded node in its own process.

The chain: a fresh embedded chain whose genesis holds a tiny emitter contract (hand-assembled
EVM) that emits 1,000 `PaymentCredited(jobId, payee, amount)` logs per call (the Settlement
ABI decodes them). The node then serves the chain over HTTP from a separate process, and the
indexer reads it through ranged eth_getLogs, batched block reads, batched decoding and
batched SQLite transactions. Baseline, same run: the SQLite write path alone (the very same
decoded events appended in the same batch sizes): the ceiling the end-to-end rate is held to.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

from eth_account import Account as EthAccount
from eth_keys import keys
from eth_utils import keccak

from custos.demo_processes import chain_node_url
from ledger.artifacts import load
from ledger.chain.genesis import Account, development_spec
from ledger.chain.node import Node
from ledger.chain.provider import NodeProvider
from ledger.client import TransactionSender, connect
from ledger.index import EventIndexer, EventStore
from ledger.index.decode import event_specs, links_of
from ledger.index.store import Position

PER_CALL = 1_000
EMITTER = "0x" + "ee" * 20
SERVE = """
import sys
from pathlib import Path
from ledger.chain.node import Node
from ledger.chain.server import ChainServer
server = ChainServer(Node.open(Path(sys.argv[1])), port=0)
print(f"serving {server.url}", file=sys.stderr, flush=True)
server.serve_forever()
"""


def emitter_code(count: int) -> bytes:
    """Runtime code: for i in 0..count-1, LOG3(mem[0..32] = i, PaymentCredited, i, CALLER)."""
    topic0 = keccak(text="PaymentCredited(uint256,address,uint256)")
    head = bytes.fromhex("6000" + "5b" + "80" + "6000" + "52" + "33" + "81" + "7f")
    tail = "6020" + "6000" + "a3" + "6001" + "01" + "80" + "61" + count.to_bytes(2, "big").hex() + "11" + "6002" + "57"
    return head + topic0 + bytes.fromhex(tail + "00")


def build_chain(folder: Path, events: int) -> int:
    """A chain with `events` logs, 1,000 per block; returns its head."""
    validator, sender = keys.PrivateKey(os.urandom(32)), EthAccount.create()
    spec = development_spec([validator.public_key.to_canonical_address()], [], bytes.fromhex(sender.address[2:]))
    alloc = {**spec.alloc, bytes.fromhex(EMITTER[2:]): Account(code=emitter_code(PER_CALL))}
    node = Node.create(folder, dataclasses.replace(spec, alloc=alloc), validator)
    try:
        client = TransactionSender(connect(NodeProvider(node)), sender)
        for _ in range(events // PER_CALL):
            client.transact(EMITTER, b"", gas=3_000_000)
        return node.head.block_number
    finally:
        node.close()


def log_index_mb(chain: Path, events: int) -> float:
    """The node's log index (`ledger.chain.log_index`) in MB per 1M logs, over the chain at `chain`."""
    from ledger.chain.log_index import log_record_key

    node = Node.open(chain, verify=False)
    try:
        size = sum(
            len(node.db[log_record_key(node.header_by_number(n).hash)]) for n in range(1, node.head.block_number + 1)
        )
    finally:
        node.close()
    return size / events * 1e6 / 2**20


def indexing_rates(folder: Path, events: int) -> tuple[float, float, float]:
    """(end-to-end events/s over HTTP, SQLite write path events/s, index MB per 1M events)."""
    folder.mkdir(parents=True, exist_ok=True)
    chain = folder / "chain"
    build_chain(chain, events)
    root = Path(__file__).resolve().parents[2]
    log = folder / "node.log"
    with log.open("w") as out:  # the node listens on port 0 and says where, as `custos chain up` does
        server = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(chain)],
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        w3 = connect(chain_node_url(server, log, timeout=60), timeout=120)
        abi = load("Settlement").abi
        indexer = EventIndexer(w3, folder / "e2e.db", {"Settlement": (EMITTER, abi)}, batch_blocks=10)
        start = time.perf_counter()
        result = indexer.sync()
        end_to_end = result.events_added / (time.perf_counter() - start)
        assert result.events_added == events, result
    finally:
        server.terminate()
        server.wait(timeout=30)
    indexer.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the size of the index, not of its log
    size = (folder / "e2e.db").stat().st_size + _wal(folder / "e2e.db")
    return end_to_end, write_ceiling(indexer.store, folder / "ceiling.db", abi), size / events * 1e6 / 2**20


def _wal(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def write_ceiling(source: EventStore, target: Path, abi: list) -> float:
    """Events/s of `EventStore.append` alone, on the same decoded events in the same block batches."""
    from ledger.audit.queries import AuditQueries

    spec = next(s for s in event_specs("Settlement", abi).values() if s.name == "PaymentCredited")
    rows = AuditQueries(source).store.conn.execute(
        "SELECT id, block_number, log_index, tx_index, tx_hash, block_hash, block_time, address, contract, event,"
        " actor, args, topics, data FROM events ORDER BY id"
    )
    from ledger.index.store import row_to_event

    events = [row_to_event(r) for r in rows]
    events = [dataclasses.replace(e, links=links_of(e.args, e.actor, spec)) for e in events]
    by_range: dict[int, list] = {}
    for e in events:
        by_range.setdefault(e.block_number // 10, []).append(e)
    store = EventStore(target)
    start = time.perf_counter()
    for key in sorted(by_range):
        batch = by_range[key]
        last = batch[-1]
        store.append(
            batch,
            [(last.block_number, last.block_hash, last.block_time)],
            Position(last.block_number + 1, last.block_number, last.block_hash),
        )
    return len(events) / (time.perf_counter() - start)
