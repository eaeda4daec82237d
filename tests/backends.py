"""The `chain` fixture: a connected Web3 plus funded eth-account accounts, per EVM backend.

Each backend is one factory in `BACKENDS`: given the accounts to fund, it yields a connected
`Web3` and tears the node down afterwards. Tests that take `chain` run once per backend.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3

from tests.waiting import wait_for

REPO_ROOT = Path(__file__).resolve().parent.parent
FOUNDRY_NPM = REPO_ROOT / "contracts" / "node_modules" / "@foundry-rs"
ACCOUNT_COUNT = 8
FUNDING_WEI = 10**24

BackendFactory = Callable[[list[LocalAccount]], AbstractContextManager[Web3]]


@dataclass(frozen=True)
class Chain:
    """A running backend: its name, a connected Web3 and accounts funded with ether."""

    name: str
    w3: Web3
    accounts: tuple[LocalAccount, ...]


def throwaway_accounts(count: int = ACCOUNT_COUNT) -> list[LocalAccount]:
    """Deterministic throwaway accounts (keys derived from a public label; test use only)."""
    return [Account.from_key(keccak(text=f"custos-test-account-{i}")) for i in range(count)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def anvil(accounts: list[LocalAccount]) -> Iterator[Web3]:
    """Foundry's anvil (from npm) on a free loopback port, accounts funded by anvil_setBalance."""
    # The platform binary, not the npm shim: a shim killed hard would orphan anvil.
    binaries = sorted(FOUNDRY_NPM.glob("anvil-*/bin/anvil"))
    if not binaries:
        raise RuntimeError(f"anvil is not installed under {FOUNDRY_NPM}: run 'npm ci' in contracts/")
    port = _free_port()
    proc = subprocess.Popen(
        [str(binaries[0]), "--host", "127.0.0.1", "--port", str(port), "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}", request_kwargs={"timeout": 30}))
        wait_for(lambda: proc.poll() is not None or w3.is_connected(), 30, f"anvil to answer on port {port}")
        if proc.poll() is not None:
            raise RuntimeError(f"anvil did not start: {proc.stderr.read().decode() if proc.stderr else ''}")
        for account in accounts:
            w3.provider.make_request("anvil_setBalance", [account.address, hex(FUNDING_WEI)])
        yield w3
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# One entry per backend: anvil, and the embedded py-evm node in-process and over HTTP.
from tests.ledger.chain.embedded_backends import embedded_http, embedded_inprocess  # noqa: E402  # pytest plugin: the embedded backends need the fixtures defined above

BACKENDS: dict[str, BackendFactory] = {
    "anvil": anvil,
    "embedded-inprocess": embedded_inprocess,
    "embedded-http": embedded_http,
}


@pytest.fixture(scope="session", params=sorted(BACKENDS))
def chain(request: pytest.FixtureRequest) -> Iterator[Chain]:
    """A connected Web3 and funded accounts on each backend in BACKENDS."""
    accounts = throwaway_accounts()
    with BACKENDS[request.param](accounts) as w3:
        yield Chain(request.param, w3, tuple(accounts))
