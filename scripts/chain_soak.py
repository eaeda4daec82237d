"""Crash soak: a real `custos chain up` process under steady write load, SIGKILLed at random moments.

After every restart: each transaction whose receipt the client had received is still there
in the same block, the head's seal verifies (`chain_status`), and new transactions are
accepted. `python scripts/chain_soak.py --kills 200` runs the long version; the test suite
runs a short one through `run_soak`.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from eth_account import Account

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from custos.demo_processes import chain_node_url, launch_chain_node
from ledger.chain.setup import DEV_CONSORTIUM, init_chain
from ledger.chain.status import chain_status
from ledger.keystore import DEV_PASSWORD, Keystore

BATCH = 8


class SoakFailure(AssertionError):
    """A committed transaction was lost, or the node came back broken."""


def _rpc(client: httpx.Client, url: str, method: str, params: list) -> object:
    reply = client.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).json()
    if "error" in reply:
        raise SoakFailure(f"{method}: {reply['error']}")
    return reply["result"]


def _start(directory: Path) -> tuple[subprocess.Popen, str]:
    log = directory.parent / "node.log"
    proc = launch_chain_node(directory, "127.0.0.1", log)
    try:
        return proc, chain_node_url(proc, log)
    except RuntimeError as exc:
        proc.kill()
        proc.wait()
        raise SoakFailure(f"{exc}: {log.read_text(errors='replace')[-2000:]}") from None


class _Loader(threading.Thread):
    """Sends batches of transfers and records every receipt it receives."""

    def __init__(self, url: str, sender, to: str, chain_id: int, receipts: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.url, self.sender, self.to, self.chain_id, self.receipts = url, sender, to, chain_id, receipts
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            with httpx.Client(timeout=5) as client:
                nonce = int(_rpc(client, self.url, "eth_getTransactionCount", [self.sender.address, "pending"]), 16)
                while not self.stop.is_set():
                    hashes = self._send_batch(client, nonce)
                    nonce += BATCH
                    self._collect(client, hashes)
        except (httpx.HTTPError, SoakFailure, ValueError):
            return  # the node was killed under us: expected

    def _send_batch(self, client: httpx.Client, nonce: int) -> list[str]:
        batch = []
        for i in range(BATCH):
            tx = {
                "chainId": self.chain_id,
                "nonce": nonce + i,
                "gas": 21_000,
                "maxFeePerGas": 0,
                "maxPriorityFeePerGas": 0,
                "to": self.to,
                "value": 1,
            }
            raw = "0x" + self.sender.sign_transaction(tx).raw_transaction.hex()
            batch.append({"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": [raw]})
        replies = client.post(self.url, json=batch).json()
        return [r["result"] for r in replies if "result" in r]

    def _collect(self, client: httpx.Client, hashes: list[str]) -> None:
        waiting = set(hashes)
        while waiting and not self.stop.is_set():
            for tx_hash in list(waiting):
                receipt = _rpc(client, self.url, "eth_getTransactionReceipt", [tx_hash])
                if receipt is not None:
                    self.receipts[tx_hash] = receipt["blockHash"]
                    waiting.discard(tx_hash)
            time.sleep(0.01)


def _verify(url: str, receipts: dict[str, str]) -> None:
    with httpx.Client(timeout=10) as client:
        for tx_hash, block_hash in receipts.items():
            receipt = _rpc(client, url, "eth_getTransactionReceipt", [tx_hash])
            if receipt is None or receipt["blockHash"] != block_hash:
                raise SoakFailure(f"transaction {tx_hash} with a receipt in {block_hash} is gone: {receipt}")
    status = chain_status(url)
    if not status["sealOk"]:
        raise SoakFailure(f"head does not verify: {status['problems']}")


def _accepts_new(url: str, sender, to: str, chain_id: int) -> None:
    with httpx.Client(timeout=10) as client:
        nonce = int(_rpc(client, url, "eth_getTransactionCount", [sender.address, "pending"]), 16)
        tx = {
            "chainId": chain_id,
            "nonce": nonce,
            "gas": 21_000,
            "maxFeePerGas": 0,
            "maxPriorityFeePerGas": 0,
            "to": to,
            "value": 1,
        }
        tx_hash = _rpc(
            client, url, "eth_sendRawTransaction", ["0x" + sender.sign_transaction(tx).raw_transaction.hex()]
        )
        deadline = time.monotonic() + 10
        while _rpc(client, url, "eth_getTransactionReceipt", [tx_hash]) is None:
            if time.monotonic() > deadline:
                raise SoakFailure("a new transaction was not sealed after restart")
            time.sleep(0.01)


def run_soak(directory: Path, kills: int, seed: int = 1, max_delay: float = 0.5) -> dict[str, int]:
    """Init a dev chain in `directory`, then kill -9 its node `kills` times under load; verify each restart."""
    rng = random.Random(seed)
    result = init_chain(directory, DEV_CONSORTIUM)
    keystore = Keystore(directory / "keystore")
    sender = keystore.unlock("bank" if result.deployment.get("contracts") else "deployer", DEV_PASSWORD)
    to = result.members["hospital"]
    receipts: dict[str, str] = {}
    for _ in range(kills):
        proc, url = _start(directory)
        _verify(url, receipts)
        loader = _Loader(url, sender, to, result.chain_id, receipts)
        loader.start()
        time.sleep(rng.uniform(0.05, max_delay))
        proc.kill()
        proc.wait()
        loader.stop.set()
        loader.join()
    proc, url = _start(directory)
    try:
        _verify(url, receipts)
        _accepts_new(url, Account.from_key(sender.key), to, result.chain_id)
    finally:
        proc.kill()
        proc.wait()
    return {"kills": kills, "receipts_checked": len(receipts)}


def main() -> int:
    """Run the long soak and print a JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-delay", type=float, default=2.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        summary = run_soak(Path(tmp) / "chain", args.kills, args.seed, args.max_delay)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
