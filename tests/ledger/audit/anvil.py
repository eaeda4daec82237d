"""A real anvil node on a free loopback port, and funded fresh accounts, for the ledger-client suites."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

ANVIL = Path(__file__).resolve().parents[3] / "contracts" / "node_modules" / ".bin" / "anvil"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def anvil(*extra: str) -> Iterator[str]:
    """Run anvil until the block ends; yields its JSON-RPC URL."""
    port = free_port()
    proc = subprocess.Popen([str(ANVIL), "--port", str(port), "--silent", *extra])
    url = f"http://127.0.0.1:{port}"
    try:
        w3 = Web3(Web3.HTTPProvider(url))
        for _ in range(200):
            try:
                w3.eth.chain_id
                break
            except Exception:  # noqa: BLE001 - not listening yet
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def funded_account(w3: Web3) -> LocalAccount:
    """A fresh random key with 1000 ether on the node (anvil_setBalance)."""
    account = Account.create()
    w3.provider.make_request("anvil_setBalance", [account.address, hex(10**21)])  # type: ignore[arg-type]
    return account
