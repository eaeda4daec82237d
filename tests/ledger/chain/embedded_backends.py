"""The embedded node as backends of tests/backends.py: in-process and over HTTP.

Each is a real permissioned chain: genesis funds the test accounts, a bootstrap account
deploys the six contracts with every test account a member, and admission is then the
Consortium contract's alone.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_keys import keys
from eth_utils import keccak
from web3 import Web3

from ledger.chain.genesis import Account as GenesisAccount
from ledger.chain.genesis import GenesisSpec
from ledger.chain.node import Node
from ledger.chain.provider import NodeProvider
from ledger.chain.server import ChainServer
from ledger.chain.setup import bootstrap_contracts
from ledger.deploy import config_for_members

CHAIN_ID = 727_027
FUNDING_WEI = 10**24
ALL_ROLES = 31
VALIDATOR = keys.PrivateKey(keccak(text="custos-test-validator"))
BOOTSTRAP = Account.from_key(keccak(text="custos-test-bootstrap"))


@contextmanager
def _member_node(accounts: list[LocalAccount]) -> Iterator[Node]:
    with tempfile.TemporaryDirectory(prefix="custos-chain-") as tmp:
        alloc = {bytes.fromhex(a.address[2:]): GenesisAccount(balance=FUNDING_WEI) for a in [BOOTSTRAP, *accounts]}
        spec = GenesisSpec(
            chain_id=CHAIN_ID,
            validators=(VALIDATOR.public_key.to_canonical_address(),),
            alloc=alloc,
            bootstrap=bytes.fromhex(BOOTSTRAP.address[2:]),
            timestamp=int(time.time()),
        )
        node = Node.create(Path(tmp), spec, VALIDATOR)
        try:
            bootstrap_contracts(node, BOOTSTRAP, config_for_members([(a.address, ALL_ROLES) for a in accounts]))
            yield node
        finally:
            node.close()


@contextmanager
def embedded_inprocess(accounts: list[LocalAccount]) -> Iterator[Web3]:
    """The embedded node in this process, behind NodeProvider (blocks sealed per transaction)."""
    with _member_node(accounts) as node:
        yield Web3(NodeProvider(node))


@contextmanager
def embedded_http(accounts: list[LocalAccount]) -> Iterator[Web3]:
    """The embedded node served over loopback HTTP with its block producer running."""
    with _member_node(accounts) as node:
        server = ChainServer(node, port=0)
        server.start()
        try:
            yield Web3(Web3.HTTPProvider(server.url, request_kwargs={"timeout": 30}))
        finally:
            server.stop()
