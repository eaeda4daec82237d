"""The `chain` fixture: a connected Web3 plus funded eth-account accounts, per EVM backend.

Each backend is one factory in `BACKENDS`: given the accounts to fund, it yields a connected
`Web3` and tears the node down afterwards. Tests that take `chain` run once per backend.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3

from custos.demo_processes import reported_url, stop_process, wait_rpc

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


# What anvil prints once it listens (it picks the port itself with `--port 0`).
_ANVIL_LISTENING = re.compile(r"^Listening on (\S+:\d+)$", re.MULTILINE)


def anvil_binary() -> Path:
    """The platform binary of Foundry's anvil from npm (not the npm shim: a shim killed hard would orphan anvil)."""
    binaries = sorted(FOUNDRY_NPM.glob("anvil-*/bin/anvil"))
    if not binaries:
        raise RuntimeError(f"anvil is not installed under {FOUNDRY_NPM}: run 'npm ci' in contracts/")
    return binaries[0]


@contextmanager
def anvil_process(*options: str) -> Iterator[str]:
    """anvil (with `options`) on a loopback port it picks itself; yields its URL once it answers, stops it after.

    anvil listens on port 0 and prints the address it got, so no port is probed and released first
    (another process could take it before anvil binds).
    """
    with tempfile.TemporaryDirectory(prefix="custos-anvil-") as folder:
        log = Path(folder) / "anvil.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                [str(anvil_binary()), "--host", "127.0.0.1", "--port", "0", *options],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            try:
                url = "http://" + reported_url("anvil", log, _ANVIL_LISTENING, proc, 60)
                wait_rpc(url, proc, 60)
            except RuntimeError as exc:
                raise RuntimeError(f"{exc}:\n{log.read_text(errors='replace')[-2000:]}") from None
            yield url
        finally:
            stop_process(proc)


@contextmanager
def anvil(accounts: list[LocalAccount]) -> Iterator[Web3]:
    """Foundry's anvil (from npm) on a loopback port, `accounts` funded by anvil_setBalance."""
    with anvil_process() as url:
        w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))
        for account in accounts:
            w3.provider.make_request("anvil_setBalance", [account.address, hex(FUNDING_WEI)])
        yield w3


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
