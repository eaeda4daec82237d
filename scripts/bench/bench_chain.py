"""Embedded chain vs anvil: the same signed workload through the same JSON-RPC client.

Both nodes run as separate processes (`custos chain up`, `anvil`). The workload is N
pre-signed `AuditAnchor.anchor(root, 1, tag)` transactions (a new storage record and an
event each) sent as JSON-RPC batches of 100 raw transactions over HTTP; the clock stops
when the last receipt is available. On the embedded chain every transaction is admitted
only after `Consortium.transactionAllowed` (the real membership contract) said yes. Also printed: the head's
timestamp minus the wall clock right after the burst (the embedded chain must not run ahead).

`--senders 8` runs the issue's workload instead: 8 accounts, each sending one signed
anchor() call per HTTP request (no batching) and awaiting its receipt before the next,
on the embedded chain, on anvil, and on raw py-evm (the same transactions executed into
blocks in-process by `build_block`, no HTTP, no admission: the ceiling py-evm sets).
`--profile` instead profiles the embedded node's block production in-process.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from eth_account import Account
from web3 import Web3

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import emit

from custos.demo_processes import chain_node_url, launch_chain_node
from ledger.artifacts import load
from ledger.chain.chainspec import DEFAULT_CHAIN_ID
from ledger.chain.setup import DEV_CONSORTIUM, init_chain
from ledger.keystore import DEV_PASSWORD, Keystore
from tests.backends import anvil_process

ANVIL_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"
BATCH = 100
CONSORTIUM = load("Consortium")
ANCHOR = load("AuditAnchor")
ANCHOR_ABI = Web3().eth.contract(abi=ANCHOR.abi)
# AuditAnchor's JobLedger: these benchmarks open no jobs and send only `anchor`, which never asks it.
NO_JOB_LEDGER = Web3.to_checksum_address("0x" + "ee" * 20)  # web3 refuses a non-checksum address


def _rpc(client: httpx.Client, url: str, method: str, params: list) -> object:
    reply = client.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).json()
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]


@contextmanager
def _custos_up(directory: Path) -> Iterator[str]:
    """A `custos chain up` process serving `directory`, on a port it picks itself; yields its URL once it answers."""
    log = directory.parent / "node.log"
    proc = launch_chain_node(directory, "127.0.0.1", log)
    try:
        yield chain_node_url(proc, log)
    finally:
        proc.kill()
        proc.wait()


def _receipt(client: httpx.Client, url: str, tx_hash: str) -> dict:
    while (receipt := _rpc(client, url, "eth_getTransactionReceipt", [tx_hash])) is None:
        time.sleep(0.01)
    return receipt


def _deploy(client: httpx.Client, url: str, account, common: dict, nonce: int, artifact, args: list) -> str:
    data = Web3().eth.contract(abi=artifact.abi, bytecode=artifact.bytecode).constructor(*args).data_in_transaction
    signed = account.sign_transaction({**common, "nonce": nonce, "gas": 5_000_000, "data": data})
    receipt = _receipt(client, url, _rpc(client, url, "eth_sendRawTransaction", ["0x" + signed.raw_transaction.hex()]))
    return Web3.to_checksum_address(receipt["contractAddress"])


def run_workload(url: str, account, count: int, fee: int, anchor: str | None = None) -> dict[str, float]:
    """Send `count` signed anchor() calls in batches (deploying contracts if needed); tx/s, clock lag."""
    with httpx.Client(timeout=120) as client:
        chain_id = int(_rpc(client, url, "eth_chainId", []), 16)
        nonce = int(_rpc(client, url, "eth_getTransactionCount", [account.address, "pending"]), 16)
        common = {"chainId": chain_id, "maxFeePerGas": fee, "maxPriorityFeePerGas": fee // 10, "value": 0}
        if anchor is None:
            consortium = _deploy(
                client, url, account, common, nonce, CONSORTIUM, [[account.address], [31], ["bench"], 1, 86_400]
            )
            anchor = _deploy(client, url, account, common, nonce + 1, ANCHOR, [consortium, NO_JOB_LEDGER])
            nonce += 2
        raws = [
            "0x"
            + account.sign_transaction(
                {
                    **common,
                    "nonce": nonce + i,
                    "gas": 150_000,
                    "to": anchor,
                    "data": ANCHOR_ABI.encode_abi(
                        "anchor", [(i + 1).to_bytes(32, "big"), 1, b"bench".ljust(32, b"\0")]
                    ),
                }
            ).raw_transaction.hex()
            for i in range(count)
        ]
        before = int(_rpc(client, url, "eth_blockNumber", []), 16)
        start = time.perf_counter()
        hashes: list[str] = []
        for i in range(0, count, BATCH):
            batch = [
                {"jsonrpc": "2.0", "id": j, "method": "eth_sendRawTransaction", "params": [raw]}
                for j, raw in enumerate(raws[i : i + BATCH])
            ]
            replies = client.post(url, json=batch).json()
            errors = [r["error"] for r in replies if "error" in r]
            if errors:
                raise RuntimeError(f"rejected: {errors[:3]}")
            hashes.extend(r["result"] for r in replies)
        last = _receipt(client, url, hashes[-1])
        elapsed = time.perf_counter() - start
        seen = time.time()  # when the client learnt the burst was done
        head = _rpc(client, url, "eth_getBlockByNumber", [last["blockNumber"], False])
        lag = int(head["timestamp"], 16) - seen
        blocks = int(last["blockNumber"], 16) - before
        return {"tps": count / elapsed, "head_ahead_s": lag, "blocks": blocks}


SENDERS_CONSORTIUM = {
    "chainId": DEFAULT_CHAIN_ID,
    "organisations": [
        *DEV_CONSORTIUM["organisations"],
        *({"name": f"sender{i}", "roles": ["REQUESTER"]} for i in range(8)),
    ],
}


def _prepare_embedded(directory: Path, consortium: dict = DEV_CONSORTIUM):  # type: ignore[no-untyped-def]  # returns a loose tuple of benchmark handles
    """Init a dev chain; make sure Consortium and AuditAnchor exist and bootstrap is closed."""
    from eth._utils.address import generate_contract_address

    from ledger.chain.node import Node
    from ledger.chain.setup import validator_key

    result = init_chain(directory, consortium)
    keystore = Keystore(directory / "keystore")
    bank = keystore.unlock("bank", DEV_PASSWORD)
    contracts = result.deployment.get("contracts") or {}
    if "AuditAnchor" in contracts:
        return bank, contracts["AuditAnchor"]
    deployer = keystore.unlock("deployer", DEV_PASSWORD)
    node = Node.open(directory, validator_key(directory, None))
    common = {"chainId": node.chain_id, "maxFeePerGas": 0, "maxPriorityFeePerGas": 0, "value": 0, "gas": 5_000_000}
    members = list(result.members.values())
    consortium_data = (
        Web3()
        .eth.contract(abi=CONSORTIUM.abi, bytecode=CONSORTIUM.bytecode)
        .constructor(members, [31] * len(members), list(result.members), 2, 86_400)
        .data_in_transaction
    )
    node.submit_raw(deployer.sign_transaction({**common, "nonce": 0, "data": consortium_data}).raw_transaction)
    consortium = Web3.to_checksum_address(generate_contract_address(bytes.fromhex(deployer.address[2:]), 0))
    anchor_data = (
        Web3()
        .eth.contract(abi=ANCHOR.abi, bytecode=ANCHOR.bytecode)
        .constructor(consortium, NO_JOB_LEDGER)
        .data_in_transaction
    )
    node.submit_raw(deployer.sign_transaction({**common, "nonce": 1, "data": anchor_data}).raw_transaction)
    node.permission.close_bootstrap(consortium)
    node.close()
    return bank, Web3.to_checksum_address(generate_contract_address(bytes.fromhex(deployer.address[2:]), 1))


def _anchor_calls(account, chain_id: int, anchor: str, first_nonce: int, count: int, fee: int, salt: int) -> list[str]:  # type: ignore[no-untyped-def]  # eth-account's signer type is not exported
    common = {"chainId": chain_id, "maxFeePerGas": fee, "maxPriorityFeePerGas": fee // 10, "value": 0, "gas": 150_000}
    return [
        "0x"
        + account.sign_transaction(
            {
                **common,
                "nonce": first_nonce + i,
                "to": anchor,
                "data": ANCHOR_ABI.encode_abi("anchor", [(salt * 10**6 + i + 1).to_bytes(32, "big"), 1, b"\1" * 32]),
            }
        ).raw_transaction.hex()
        for i in range(count)
    ]


def run_senders(url: str, accounts: list, per_sender: int, fee: int, anchor: str) -> dict[str, float]:  # type: ignore[type-arg]  # eth-account's signer type is not exported
    """Each account sends its calls one request at a time, awaiting each receipt; total tx/s."""
    with httpx.Client(timeout=120) as client:
        chain_id = int(_rpc(client, url, "eth_chainId", []), 16)
        plans = []
        for salt, account in enumerate(accounts):
            nonce = int(_rpc(client, url, "eth_getTransactionCount", [account.address, "pending"]), 16)
            plans.append(_anchor_calls(account, chain_id, anchor, nonce, per_sender, fee, salt))
    failures: list[str] = []

    def sender(raws: list[str]) -> None:
        with httpx.Client(timeout=120) as own:
            for raw in raws:
                try:
                    tx_hash = _rpc(own, url, "eth_sendRawTransaction", [raw])
                    _receipt(own, url, str(tx_hash))
                except RuntimeError as exc:
                    failures.append(str(exc))
                    return

    threads = [threading.Thread(target=sender, args=(plan,)) for plan in plans]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"senders failed: {failures[:3]}")
    return {"tps": len(accounts) * per_sender / elapsed}


def bench_embedded_senders(per_sender: int) -> dict[str, float]:
    """8 members of a `custos chain up` process, one call per request, receipts awaited."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "chain"
        _, anchor = _prepare_embedded(directory, SENDERS_CONSORTIUM)
        keystore = Keystore(directory / "keystore")
        accounts = [keystore.unlock(f"sender{i}", DEV_PASSWORD) for i in range(8)]
        with _custos_up(directory) as url:
            return run_senders(url, accounts, per_sender, 0, anchor)


def bench_anvil_senders(per_sender: int) -> dict[str, float]:
    """anvil's first 8 dev accounts, the same workload."""
    with anvil_process() as url:
        owner = Account.from_key(ANVIL_KEY)
        accounts = [Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}") for i in range(8)]
        with httpx.Client(timeout=120) as client:
            common = {"chainId": 31337, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9, "value": 0}
            members = [a.address for a in accounts]
            names = [str(i) for i in range(8)]
            consortium = _deploy(client, url, owner, common, 0, CONSORTIUM, [members, [31] * 8, names, 1, 86_400])
            anchor = _deploy(client, url, owner, common, 1, ANCHOR, [consortium, NO_JOB_LEDGER])
        return run_senders(url, accounts, per_sender, 10**10, anchor)


def bench_raw_pyevm(count: int) -> dict[str, float]:
    """The same anchor() calls executed into blocks by `build_block` in-process: py-evm's own ceiling."""
    from ledger.chain.building import Candidate, build_block
    from ledger.chain.chainspec import CustosVM
    from ledger.chain.node import Node
    from ledger.chain.setup import validator_key

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "chain"
        _, anchor = _prepare_embedded(directory, SENDERS_CONSORTIUM)
        keystore = Keystore(directory / "keystore")
        accounts = [keystore.unlock(f"sender{i}", DEV_PASSWORD) for i in range(8)]
        node = Node.open(directory, validator_key(directory, None))
        per = count // 8
        decode = CustosVM.get_transaction_builder().decode
        txs = []
        for salt, account in enumerate(accounts):
            raws = _anchor_calls(account, node.chain_id, anchor, 0, per, 0, salt)
            txs.append([decode(bytes.fromhex(r[2:])) for r in raws])
        # Interleave senders as the pool would; seal 8 transactions a block, as 8 waiting senders allow.
        ordered = [Candidate(tx, tx.sender) for group in zip(*txs) for tx in group]
        start = time.perf_counter()
        parent = node.head
        for i in range(0, len(ordered), 8):
            built = build_block(
                node.chain,
                parent,
                ordered[i : i + 8],
                coinbase=parent.coinbase,
                timestamp=int(time.time()),
                permitted=lambda tx, sender: None,
            )
            node.chain.chaindb.persist_block(built.block)
            parent = built.header
        elapsed = time.perf_counter() - start
        node.store.rollback()
        node.close()
        return {"tps": len(ordered) / elapsed}


def bench_embedded(count: int) -> dict[str, float]:
    """The embedded node as a `custos chain up` process."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "chain"
        sender, anchor = _prepare_embedded(directory)
        with _custos_up(directory) as url:
            return run_workload(url, sender, count, fee=0, anchor=anchor)


def bench_anvil(count: int) -> dict[str, float]:
    with anvil_process() as url:
        return run_workload(url, Account.from_key(ANVIL_KEY), count, fee=10**10)


def main() -> int:
    """Run the comparison (or the profile) and print JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--senders", type=int, default=0, help="run the 8-sender workload (only 8 is supported)")
    parser.add_argument("--nodes", type=int, default=1, help="N > 1: the N-node consortium (bench_consortium.py)")
    args = parser.parse_args()
    if args.nodes > 1:
        from bench_consortium import run

        return run(args.nodes, seconds=15.0)
    if args.profile:
        from profile_chain import profile

        profile(args.count)
        return 0
    if args.senders:
        Account.enable_unaudited_hdwallet_features()
        per_sender = max(1, args.count // 8)
        anvil = bench_anvil_senders(per_sender)
        raw = bench_raw_pyevm(per_sender * 8)
        embedded = bench_embedded_senders(per_sender)
        emit("chain_http_8_senders_tps", embedded["tps"], "tx/s", "anvil_http_8_senders_tps", anvil["tps"])
        emit("chain_http_8_senders_tps", embedded["tps"], "tx/s", "raw_pyevm_build_block_tps", raw["tps"])
        return 0
    anvil = bench_anvil(args.count)
    embedded = bench_embedded(args.count)
    emit("chain_http_anchor_tps", embedded["tps"], "tx/s", "anvil_http_anchor_tps", anvil["tps"])
    emit(
        "chain_head_ahead_of_clock_after_burst",
        embedded["head_ahead_s"],
        "s",
        "anvil_head_ahead_of_clock_after_burst",
        anvil["head_ahead_s"],
    )
    emit("chain_blocks_for_burst", embedded["blocks"], "blocks", "anvil_blocks_for_burst", anvil["blocks"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
