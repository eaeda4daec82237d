"""The event indexer against a real anvil: order, links, increments, reorgs, and a kill mid-batch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from ledger.artifacts import load
from ledger.audit.queries import AuditQueries
from ledger.client import TransactionSender, connect
from ledger.index import EventIndexer, EventStore, HistoryChanged, IndexedEvent, Position
from tests.ledger.audit.anvil import anvil, funded_account
from tests.ledger.audit.factory import node_verifier
from tests.ledger.beacon import BEACON_ABI, ping


@pytest.fixture
def chain() -> Iterator[tuple[str, TransactionSender, str]]:
    with anvil() as url:
        w3 = connect(url)
        sender = TransactionSender(w3, funded_account(w3))
        beacon = sender.deploy(load("Beacon").bytecode).contract_address
        assert beacon is not None
        yield url, sender, beacon


def chain_logs(w3: Web3, beacon: str) -> list[tuple[int, int]]:
    return [
        (int(log["blockNumber"]), int(log["logIndex"]))
        for log in w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest", "address": beacon})
    ]


def indexed(store: EventStore) -> list[tuple[int, int]]:
    return [tuple(r) for r in store.conn.execute("SELECT block_number, log_index FROM events ORDER BY id")]


def test_indexes_events_in_chain_order_with_actor_args_and_member_links(chain, tmp_path: Path) -> None:
    url, sender, beacon = chain
    other = TransactionSender(sender.w3, funded_account(sender.w3))
    for who in (sender, other, sender):
        ping(who, beacon, 2)
    indexer = EventIndexer(sender.w3, tmp_path / "index.db", {"Beacon": (beacon, BEACON_ABI)}, batch_blocks=2)
    result = indexer.sync()
    rows = indexer.store.conn.execute("SELECT event, actor, args FROM events ORDER BY block_number, log_index")
    assert [(e, a, json.loads(args)["count"]) for e, a, args in rows] == [
        ("Pinged", sender.address, 2),
        ("Pinged", other.address, 4),
        ("Pinged", sender.address, 6),
    ]
    assert result.events_added == 3 and result.reorg_at is None
    members = indexer.store.conn.execute(
        "SELECT count(*) FROM links WHERE kind='member' AND key=?", (other.address.lower(),)
    ).fetchone()[0]
    assert members == 1


def test_sync_is_incremental_and_remembers_its_position(chain, tmp_path: Path) -> None:
    url, sender, beacon = chain
    contracts = {"Beacon": (beacon, BEACON_ABI)}
    ping(sender, beacon)
    assert EventIndexer(sender.w3, tmp_path / "i.db", contracts).sync().events_added == 1
    ping(sender, beacon)
    ping(sender, beacon)
    again = EventIndexer(sender.w3, tmp_path / "i.db", contracts)  # a new process: position from the file
    assert again.sync().events_added == 2
    assert indexed(again.store) == chain_logs(sender.w3, beacon)


def test_changed_block_hash_fails_sync_unless_accepted_then_rewinds_to_common_ancestor(chain, tmp_path: Path) -> None:
    url, sender, beacon = chain
    ping(sender, beacon)
    snapshot = sender.w3.provider.make_request("evm_snapshot", [])["result"]
    for _ in range(3):
        ping(sender, beacon)
    indexer = EventIndexer(sender.w3, tmp_path / "i.db", {"Beacon": (beacon, BEACON_ABI)}, batch_blocks=2)
    indexer.sync()
    verifier = node_verifier(sender.w3, indexer.store, {"Beacon": BEACON_ABI}, {"Beacon": beacon})
    assert verifier.verify_member(sender.address).ok
    fork_height = sender.w3.eth.block_number - 2
    assert sender.w3.provider.make_request("evm_revert", [snapshot])["result"] is True
    rival = TransactionSender(sender.w3, funded_account(sender.w3))
    for _ in range(4):  # a longer fork where the same heights hold other blocks
        ping(rival, beacon, 5)
    stale = verifier.verify_member(sender.address)  # before re-indexing: the orphaned records fail
    assert {c.subject for c in stale.failures} and all(c.name != "seal quorum" for c in stale.failures)
    before = indexed(indexer.store)
    with pytest.raises(HistoryChanged, match="history changed at block"):
        indexer.sync()
    assert indexed(indexer.store) == before  # refused: nothing re-indexed behind the auditor's back
    result = indexer.sync(accept_reorg=True)
    assert verifier.verify_member(rival.address).ok
    assert result.reorg_at is not None and result.reorg_at <= fork_height
    assert indexed(indexer.store) == chain_logs(sender.w3, beacon)
    actors = [a for (a,) in indexer.store.conn.execute("SELECT actor FROM events ORDER BY id")]
    assert actors == [sender.address] + [rival.address] * 4


CHILD = """
import os, signal, sys
from ledger.client import connect
from ledger.audit.queries import AuditQueries
from ledger.audit.verify import Verifier
from ledger.index import EventIndexer, EventStore
from ledger.artifacts import load
url, beacon, path = sys.argv[1:4]
store = EventStore(path)
original, batches = store._insert, []
def insert_then_die(cur, rows, links):
    batches.append(len(rows))
    if len(batches) == 4:  # the fourth batch: half its rows written, then killed before the commit
        original(cur, rows[: len(rows) // 2], links[: len(rows) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    return original(cur, rows, links)
store._insert = insert_then_die
EventIndexer(connect(url), store, {"Beacon": (beacon, load("Beacon").abi)}, batch_blocks=5).sync()
"""


def test_indexer_killed_mid_batch_resumes_without_duplicates_or_gaps(chain, tmp_path: Path) -> None:
    url, sender, beacon = chain
    for _ in range(30):
        ping(sender, beacon)
    path = tmp_path / "i.db"
    child = subprocess.run(
        [sys.executable, "-c", CHILD, url, beacon, str(path)],
        cwd=Path(__file__).parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert child.returncode == -signal.SIGKILL
    store = EventStore(path)
    # Three whole batches (blocks 0..14) survived; the half-written fourth left nothing.
    assert store.position().next_block == 3 * 5
    assert indexed(store) == [log for log in chain_logs(sender.w3, beacon) if log[0] < 15]
    resumed = EventIndexer(sender.w3, store, {"Beacon": (beacon, BEACON_ABI)}, batch_blocks=5)
    resumed.sync()
    assert indexed(store) == chain_logs(sender.w3, beacon)
    assert store.count() == 30


def _credit(block: int, job: int, amount: int) -> IndexedEvent:
    args = {"jobId": job, "payee": "0x" + "ab" * 20, "amount": amount}
    return IndexedEvent(
        block,
        0,
        0,
        bytes(32),
        bytes(32),
        0,
        "0x" + "01" * 20,
        "Settlement",
        "PaymentCredited",
        "0x" + "ab" * 20,
        args,
        (),
        b"",
        (("job", str(job)),),
    )


def test_job_facts_follow_appends_and_rewinds_and_keep_amounts_past_64_bits_exact(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "i.db")
    big = 773188704377408754817  # past 2**64: orjson alone would read it as a float
    for block, amount in ((1, big), (2, 5), (3, 7)):
        store.append([_credit(block, 9, amount)], [(block, bytes(32), 0)], Position(block + 1, block, bytes(32)))
    facts = lambda: [(j, a) for j, a in store.conn.execute("SELECT job_id, amount FROM job_facts ORDER BY event_id")]  # noqa: E731 - a one-line reader
    assert facts() == [(9, str(big)), (9, "5"), (9, "7")]
    store.rewind(1, Position(2, 1, bytes(32)))
    assert facts() == [(9, str(big))]
    assert AuditQueries(store).job_events(9)[0].args["amount"] == big
