"""The Anchorer: durable records, size/time-triggered batches, one root per batch, proofs per record."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ledger import merkle
from ledger.anchor import Anchorer
from ledger.errors import AnchorError
from tests.ledger.anchoring import RecordingChain, records


def test_size_trigger_anchors_one_root_per_batch_with_a_verifying_proof_per_record(tmp_path: Path) -> None:
    chain = RecordingChain()
    anchorer = Anchorer(tmp_path / "a.db", chain, batch_size=100)
    ids, batches = anchorer.add_many(records(250))
    assert [b.count for b in batches] == [100, 100] and len(chain.roots) == 2
    last = anchorer.flush()
    assert last is not None and last.count == 50 and len(chain.roots) == 3
    for batch in [*batches, last]:
        assert chain.roots[batch.batch_id][0] == batch.root
        for proof in batch.proofs:
            assert proof.verify(anchorer.record(proof.record_id))
    assert ids == list(range(1, 251))
    assert anchorer.proof(137) == batches[1].proofs[36]


def test_wrong_proof_or_tampered_record_does_not_verify(tmp_path: Path) -> None:
    anchorer = Anchorer(tmp_path / "a.db", RecordingChain(), batch_size=8)
    anchorer.add_many(records(8))
    proof = anchorer.proof(3)
    assert proof.verify(b"protocol message 2")
    assert not proof.verify(b"protocol message 2 (edited)")
    assert not merkle.verify(proof.leaf, proof.proof[:-1], proof.root)
    assert not merkle.verify(proof.leaf, anchorer.proof(4).proof, proof.root)


def test_time_trigger_anchors_a_partial_batch_once_the_oldest_record_is_old_enough(tmp_path: Path) -> None:
    chain = RecordingChain()
    anchorer = Anchorer(tmp_path / "a.db", chain, batch_size=1000, max_age=5.0)
    record_id, batches = anchorer.add(b"data access by 0xabc")
    added_at = anchorer.db.execute("SELECT added FROM chunks").fetchone()[0]
    assert batches == [] and anchorer.tick(now=added_at + 4.9) is None
    batch = anchorer.tick(now=added_at + 5.0)
    assert batch is not None and batch.count == 1 and batch.proofs[0].record_id == record_id
    assert anchorer.tick(now=added_at + 100) is None  # nothing pending: no empty batches


def test_records_and_a_failed_anchoring_survive_reopening(tmp_path: Path) -> None:
    flaky = RecordingChain(fail_first=1)
    anchorer = Anchorer(tmp_path / "a.db", flaky, batch_size=10)
    anchorer.add_many(records(5))
    with pytest.raises(AnchorError, match="recover"):
        anchorer.add_many(records(5, start=5))  # completes a batch; its anchoring fails
    anchorer.close()
    reopened = Anchorer(tmp_path / "a.db", flaky, batch_size=10)
    assert reopened.pending() == 0  # the batch's root was stored before anchoring
    [recovered] = reopened.recover()
    assert recovered.count == 10 and flaky.roots == [(recovered.root, 10, b"\x00" * 32)]
    assert all(p.verify(reopened.record(p.record_id)) for p in recovered.proofs)
    with pytest.raises(AnchorError, match="not yet in an anchored batch"):
        reopened.proof(11)


def test_records_added_in_uneven_chunks_prove_across_batch_and_chunk_boundaries(tmp_path: Path) -> None:
    chain = RecordingChain()
    anchorer = Anchorer(tmp_path / "a.db", chain, batch_size=10)
    batches = [b for start in range(0, 33, 7) for b in anchorer.add_many(records(min(7, 33 - start), start))[1]]
    assert anchorer.pending() == 3 and anchorer.record(33) == b"protocol message 32"
    anchorer.close()
    reopened = Anchorer(tmp_path / "a.db", chain, batch_size=10)  # trees rebuilt from the stored leaves
    for record_id in range(1, 31):
        proof = reopened.proof(record_id)
        assert proof.verify(f"protocol message {record_id - 1}".encode())
        assert proof == batches[(record_id - 1) // 10].proofs[(record_id - 1) % 10]
    with pytest.raises(AnchorError, match="no record 34"):
        reopened.record(34)


def test_a_store_of_per_record_rows_from_before_chunks_opens_with_its_records_and_proofs(tmp_path: Path) -> None:
    old = sqlite3.connect(tmp_path / "a.db")
    old.executescript(
        "CREATE TABLE records (id INTEGER PRIMARY KEY, leaf BLOB NOT NULL, data BLOB NOT NULL, added REAL NOT NULL);"
        "CREATE TABLE batches (id INTEGER PRIMARY KEY, first_record INTEGER NOT NULL, last_record INTEGER NOT NULL,"
        " root BLOB NOT NULL, tag BLOB NOT NULL, tx_hash BLOB, block_number INTEGER, chain_batch INTEGER);"
    )
    data = records(5)
    old.executemany(
        "INSERT INTO records VALUES (?, ?, ?, ?)",
        [(i + 1, merkle.leaf_hash(d), d, 100.0 if i < 3 else 200.0) for i, d in enumerate(data)],
    )
    old.commit()
    old.close()
    anchorer = Anchorer(tmp_path / "a.db", RecordingChain(), batch_size=4, max_age=150.0)
    assert [anchorer.record(i) for i in range(1, 6)] == data and anchorer.pending() == 5
    assert anchorer.tick(now=260.0) is not None  # the oldest record kept its time (100) through the move
    assert all(anchorer.proof(i).verify(data[i - 1]) for i in range(1, 5))


def test_rejects_a_tag_that_is_not_32_bytes(tmp_path: Path) -> None:
    with pytest.raises(AnchorError, match="32 bytes"):
        Anchorer(tmp_path / "a.db", RecordingChain(), tag=b"short")


KILLED_AFTER_SEND = """
import os, signal, sys, json
from ledger.anchor import Anchorer
from ledger.bindings import AuditAnchor
from ledger.client import TransactionSender, connect
from ledger.deployment import Deployment
from eth_account import Account
url, key, deployment, path = sys.argv[1:5]
sender = TransactionSender(connect(url), Account.from_key(key))
anchor = AuditAnchor.at(sender, Deployment.from_json(deployment))
class DiesAfterTheTransaction:
    def anchor(self, root, count, tag):
        anchor.anchor(root, count, tag)
        os.kill(os.getpid(), signal.SIGKILL)  # mined, but the store never learns it
    def find(self, root, tag):
        return anchor.find(root, tag)
Anchorer(path, DiesAfterTheTransaction(), batch_size=4).add_many([b"a", b"b", b"c", b"d"])
"""


def test_kill_9_right_after_the_anchor_transaction_does_not_anchor_the_root_twice(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    from eth_account import Account

    from ledger.bindings import AuditAnchor
    from ledger.client import TransactionSender, connect
    from ledger.deploy import config_for_members, deploy_consortium
    from ledger.deployment import Deployment
    from tests.ledger.audit.anvil import anvil, funded_account

    with anvil() as url:
        w3 = connect(url)
        member, deployer = Account.create(), funded_account(w3)
        w3.provider.make_request("anvil_setBalance", [member.address, hex(10**21)])  # type: ignore[arg-type]  # anvil_* methods are not in web3's RPC enum
        raw = deploy_consortium(w3, deployer, config_for_members([(member.address, 31, "auditor")])).to_json()
        anchor = AuditAnchor.at(TransactionSender(w3, member), Deployment.from_json(raw))
        root = Path(__file__).parents[2]
        child = subprocess.run(
            [sys.executable, "-c", KILLED_AFTER_SEND, url, member.key.hex(), raw, str(tmp_path / "a.db")],
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
        )
        assert child.returncode == -signal.SIGKILL and anchor._call("batchCount") == 1
        reopened = Anchorer(tmp_path / "a.db", anchor, batch_size=4)
        [recovered] = reopened.recover()
        assert anchor._call("batchCount") == 1  # found on chain, not sent again
        proof = reopened.proof(3)
        assert recovered.batch_id == proof.batch_id == 0  # the chain's id, from 0
        assert anchor.verify_record(proof.batch_id, list(proof.proof), proof.leaf)


def test_find_walks_a_chain_longer_than_the_nodes_log_range_in_ranges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eth_keys import keys
    from eth_utils import keccak
    from web3.exceptions import Web3RPCError

    from ledger.bindings import AuditAnchor
    from ledger.chain import filters
    from ledger.chain.node import Node
    from ledger.chain.provider import NodeProvider
    from ledger.chain.setup import DEV_CONSORTIUM, init_chain
    from ledger.client import TransactionSender, connect
    from ledger.deployment import Deployment
    from ledger.keystore import DEV_PASSWORD, Keystore

    monkeypatch.setattr(filters, "MAX_LOG_RANGE", 8)  # the node's own limit, lowered so 40 blocks exceed it
    init_chain(tmp_path, DEV_CONSORTIUM)
    bank = Keystore(tmp_path / "keystore").unlock("bank", DEV_PASSWORD)
    node = Node.open(tmp_path, keys.PrivateKey(bank.key))
    try:
        w3 = connect(NodeProvider(node))
        anchor = AuditAnchor.at(TransactionSender(w3, bank), Deployment.load(tmp_path / "deployment.json"))
        tag, roots = b"\x07" * 32, [keccak(i.to_bytes(32, "big")) for i in range(40)]
        anchored = [anchor.anchor(root, 1, tag) for root in roots]  # one block each
        assert w3.eth.block_number > 4 * 8
        with pytest.raises(Web3RPCError, match="block range too large"):  # what find asked before
            w3.eth.get_logs({"address": anchor.address, "fromBlock": 0, "toBlock": "latest"})
        assert anchor.find(roots[0], tag) == anchored[0]
        assert anchor.find(roots[-1], tag) == anchored[-1]
        assert anchored[-1].batch_id == 39
        assert anchor.find(roots[0], b"\x08" * 32) is None  # same root, other tag
        assert anchor.find(b"\x99" * 32, tag) is None
    finally:
        node.close()
