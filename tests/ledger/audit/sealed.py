"""A sealed embedded chain (`custos chain init`) with one finalised job, run in-process through the bindings.

The chain directory pins its genesis in deployment.json, so the audit's trust root is the
real one. `rewrite_from(...)` is the adversary: the single validator (the bank) rebuilds
the chain from the same genesis, replays blocks up to a height, and seals a different
block there.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount
from eth_keys import keys
from eth_utils import keccak

from ledger import merkle
from ledger.bindings import CustosToken, DataRegistry, JobLedger, SourceSpec
from ledger.chain.node import Node
from ledger.chain.provider import NodeProvider
from ledger.chain.setup import DEV_CONSORTIUM, init_chain
from ledger.client import TransactionSender, connect
from ledger.deployment import Deployment
from ledger.keystore import DEV_PASSWORD, Keystore
from ledger.protocol import Attestation, AttestationDomain

BUDGET = 10_000
# What the compute parties hold and commit: a utility table (canonical JSON) and transcript message hashes.
UTILITY_TABLE = {"metric": "auc", "sources": ["a", "b"], "utilities": {"": 0.5, "a": 0.7, "b": 0.6, "a,b": 0.8}}
UTILITY_HASH = keccak(json.dumps(UTILITY_TABLE, sort_keys=True, separators=(",", ":")).encode())
TRANSCRIPT_LEAVES = ["0x" + keccak(f"message {i}".encode()).hex() for i in range(5)]
TRANSCRIPT_ROOT = merkle.MerkleTree.from_leaves(
    [merkle.leaf_hash(bytes.fromhex(m[2:])) for m in TRANSCRIPT_LEAVES]
).root


@dataclass(frozen=True)
class SealedJob:
    """The chain directory, the job, and who is who."""

    chain: Path
    job_id: int
    accounts: dict[str, LocalAccount]
    head: int


def h(tag: str) -> bytes:
    return tag.encode().ljust(32, b"\0")


def run_job(chain: Path) -> SealedJob:
    """A dev chain (challenge window 0), then a two-source job from open to final on the in-process node."""
    init_chain(chain, {**DEV_CONSORTIUM, "challengeWindow": 0})
    store = Keystore(chain / "keystore")
    accounts = {name: store.unlock(name, DEV_PASSWORD) for name in ("bank", "hospital", "bureau")}
    node = Node.open(chain, keys.PrivateKey(accounts["bank"].key))
    try:
        w3 = connect(NodeProvider(node))
        info = Deployment.load(chain / "deployment.json")
        senders = {n: TransactionSender(w3, a) for n, a in accounts.items()}
        s1 = DataRegistry.at(senders["bank"], info).register_source(SourceSpec(h("schema"), h("a"), 10, "a", 1_000, 1))
        s2 = DataRegistry.at(senders["hospital"], info).register_source(
            SourceSpec(h("schema"), h("b"), 20, "b", 500, 1)
        )
        CustosToken.at(senders["bank"], info).approve(info.address("Settlement"), BUDGET)
        ledger = JobLedger.at(senders["bank"], info)
        parties = [accounts["hospital"].address, accounts["bureau"].address]
        opened = ledger.open_job(0, [s1.source_id, s2.source_id], h("params"), parties, BUDGET, int(time.time()) + 9999)
        ledger.consent(opened.job_id, s1.source_id)
        JobLedger.at(senders["hospital"], info).consent(opened.job_id, s2.source_id)
        compute = JobLedger.at(senders["hospital"], info)
        compute.commit_result(opened.job_id, h("result"), TRANSCRIPT_ROOT, [3, 1], UTILITY_HASH)
        job = compute.job(opened.job_id)
        attestation = Attestation(
            opened.job_id, job.inputs_hash, job.result_hash, job.transcript_root, job.contribution_hash
        )
        domain = AttestationDomain(info.chain_id, info.job_ledger)
        for name in ("bank", "hospital", "bureau"):
            signature = attestation.sign(bytes(accounts[name].key), domain)
            compute.attest(opened.job_id, accounts[name].address, signature)
        compute.finalize(opened.job_id)
        head = node.head.block_number
    finally:
        node.close()
    return SealedJob(chain, opened.job_id, accounts, head)


def copy_chain(source: Path, target: Path) -> Path:
    """A byte copy of a chain directory (a second organisation's node holding the same history)."""
    shutil.copytree(source, target)
    for leftover in target.glob("audit-*"):
        leftover.unlink()
    return target


def rewrite_from(chain: Path, height: int, bank: LocalAccount) -> int:
    """The bank, sole validator, rebuilds `chain` from genesis with blocks < `height` and a new block `height`.

    The new block is an empty-of-the-job transfer: the job's history from `height` on is gone.
    Returns the new head.
    """
    original = Node.open(chain, verify=False)
    raws = [
        (original.raw_block(original.header_by_number(n)), original.seal_of(original.header_by_number(n).hash))
        for n in range(1, height)
    ]
    spec = original.spec
    original.close()
    shutil.rmtree(chain / "chain.lmdb")
    rebuilt = Node.create(chain, spec, keys.PrivateKey(bank.key))
    try:
        for raw, seal in raws:
            assert seal is not None
            rebuilt.import_sealed_block(raw, seal)
        rebuilt.permission.close_bootstrap(deployment(chain)["contracts"]["Consortium"])
        w3 = connect(NodeProvider(rebuilt))
        sender = TransactionSender(w3, bank)
        sender.transact(bank.address, b"", value=1)  # block `height`, sealed by the bank, holding something else
        return rebuilt.head.block_number
    finally:
        rebuilt.close()


def deployment(chain: Path) -> dict:
    return json.loads((chain / "deployment.json").read_text())
