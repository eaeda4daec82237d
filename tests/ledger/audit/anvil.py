"""anvil as a URL (for tests that need anvil's own RPCs: automine, snapshots), fresh funded accounts, and a
URL where nothing answers."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from tests import backends


@cache
def nowhere_url() -> str:
    """A loopback URL where nothing listens while this test process runs.

    Its port stays bound (never listened on, without SO_REUSEADDR), so connecting there is refused
    and no other process can take the port and answer instead.
    """
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    _RESERVED.append(sock)
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


_RESERVED: list[socket.socket] = []  # the sockets holding nowhere_url's port, alive as long as the process


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
