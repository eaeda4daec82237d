"""Merkle-batch anchoring: records stored durably, batched, anchored and proven, per second.

The chain is a real anvil with the six contracts deployed; each batch costs exactly one
AuditAnchor.anchor transaction (checked: batchCount grows by the number of batches).
Baseline, same process: one AuditAnchor.anchor transaction per record (no batching).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from eth_account import Account

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests.backends starts anvil
from report import emit

from ledger.anchor import Anchorer
from ledger.bindings import AuditAnchor
from ledger.client import TransactionSender, connect
from ledger.deploy import config_for_members, deploy_consortium
from ledger.deployment import Deployment
from tests.backends import anvil_process

RECORDS = 262_144
BATCH = 65_536


@contextmanager
def consortium_on_anvil() -> Iterator[tuple[TransactionSender, Deployment, str]]:
    """anvil on a port it picks itself, the six contracts deployed, one funded member's sender."""
    with anvil_process() as url:
        w3 = connect(url)
        member, deployer = Account.create(), Account.create()
        for account in (member, deployer):
            w3.provider.make_request("anvil_setBalance", [account.address, hex(10**24)])  # type: ignore[arg-type]  # anvil_* methods are not in web3's RPC enum
        deployment = deploy_consortium(w3, deployer, config_for_members([(member.address, 31, "auditor")]))
        yield TransactionSender(w3, member), deployment, url


def batched_rate(anchor: AuditAnchor, folder: Path) -> tuple[float, int]:
    """Records per second through the Anchorer (durable store, trees, one tx per batch, every proof)."""
    records = [os.urandom(96) for _ in range(RECORDS)]
    anchorer = Anchorer(folder / "anchor.db", anchor, batch_size=BATCH)
    before = anchor._call("batchCount")
    start = time.perf_counter()
    proofs = 0
    for i in range(0, RECORDS, 16_384):  # arrivals in chunks, as a busy gateway would hand them over
        proofs += sum(len(b.proofs) for b in anchorer.add_many(records[i : i + 16_384])[1])
    last = anchorer.flush()
    proofs += len(last.proofs) if last else 0
    elapsed = time.perf_counter() - start
    transactions = anchor._call("batchCount") - before
    assert proofs == RECORDS and transactions == -(-RECORDS // BATCH), (proofs, transactions)
    return RECORDS / elapsed, transactions


def per_record_rate(anchor: AuditAnchor, count: int = 100) -> float:
    """Baseline: one anchoring transaction per record."""
    start = time.perf_counter()
    for _ in range(count):
        anchor.anchor_root(os.urandom(32), 1, b"\0" * 32)
    return count / (time.perf_counter() - start)


def main() -> None:
    with consortium_on_anvil() as (sender, deployment, _), tempfile.TemporaryDirectory() as tmp:
        anchor = AuditAnchor.at(sender, deployment)
        baseline = per_record_rate(anchor)
        rate, transactions = batched_rate(anchor, Path(tmp))
        emit("anchor_records_per_s_with_proofs", rate, "records/s", "one AuditAnchor tx per record", baseline)
        emit(
            "anchor_records_per_transaction", RECORDS / transactions, "records/tx", "one AuditAnchor tx per record", 1.0
        )


if __name__ == "__main__":
    main()
