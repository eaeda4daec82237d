"""anvil as a URL (for tests that need anvil's own RPCs: automine, snapshots) and fresh funded accounts."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from tests import backends


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def anvil() -> Iterator[str]:
    """The shared fixture's anvil (tests/backends.py) for the duration of the block; yields its URL."""
    with backends.anvil([]) as w3:
        yield str(w3.provider.endpoint_uri)  # type: ignore[attr-defined]  # an HTTPProvider here


def funded_account(w3: Web3) -> LocalAccount:
    """A fresh random key with 1000 ether on the node (anvil_setBalance)."""
    account = Account.create()
    w3.provider.make_request("anvil_setBalance", [account.address, hex(10**21)])  # type: ignore[arg-type]  # anvil_* methods are not in web3's RPC enum
    return account
