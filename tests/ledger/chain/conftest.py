"""Fixtures for the embedded chain: a fresh chain on disk with a membership allowlist in genesis."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_keys import keys

from ledger.artifacts import load
from ledger.chain.genesis import Account as GenesisAccount
from ledger.chain.genesis import GenesisSpec
from ledger.chain.node import Node
from ledger.deploy import create_address

CHAIN_ID = 727_027
# A real EVM contract, assembled by hand so these tests do not depend on the consortium's
# contracts: transactionAllowed(sender, …) returns storage[sender] != 0.
#   PUSH1 4 CALLDATALOAD SLOAD ISZERO ISZERO PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
ALLOWLIST_CODE = bytes.fromhex("600435541515600052602060" + "00f3")
ALLOWLIST = bytes.fromhex("00000000000000000000000000000000000c0575")
VALIDATOR = keys.PrivateKey(bytes.fromhex("aa" * 32))
MEMBERS = [Account.from_key(bytes([0x10 + i]) * 32) for i in range(3)]
OUTSIDER = Account.from_key(b"\x77" * 32)


def _canonical(acct: LocalAccount) -> bytes:
    return bytes.fromhex(acct.address[2:])


def allowlist_spec() -> GenesisSpec:
    """Genesis: members and an outsider funded, the allowlist naming only the members."""
    alloc = {_canonical(a): GenesisAccount(balance=10**24) for a in [*MEMBERS, OUTSIDER]}
    alloc[ALLOWLIST] = GenesisAccount(code=ALLOWLIST_CODE, storage={int(m.address, 16): 1 for m in MEMBERS})
    return GenesisSpec(
        chain_id=CHAIN_ID,
        validators=(VALIDATOR.public_key.to_canonical_address(),),
        alloc=alloc,
        membership=ALLOWLIST,
        timestamp=int(time.time()),
    )


@dataclass
class ChainDir:
    """A chain's directory and the keys that go with it."""

    path: Path
    validator: keys.PrivateKey
    members: list[LocalAccount]
    outsider: LocalAccount


@pytest.fixture
def chain_dir(tmp_path: Path) -> ChainDir:
    """A freshly initialised chain directory (genesis only, node closed)."""
    Node.create(tmp_path, allowlist_spec(), VALIDATOR).close()
    return ChainDir(tmp_path, VALIDATOR, MEMBERS, OUTSIDER)


@pytest.fixture
def node(chain_dir: ChainDir) -> Iterator[Node]:
    """An open node in instant-seal mode."""
    opened = Node.open(chain_dir.path, chain_dir.validator)
    yield opened
    opened.close()


BEACON = load("Beacon")


def signed(acct: LocalAccount, nonce: int, to: str | None, data: bytes, gas: int = 500_000) -> bytes:
    """A raw fee-free type-2 transaction from `acct` on this chain."""
    tx = {
        "chainId": CHAIN_ID,
        "nonce": nonce,
        "gas": gas,
        "maxFeePerGas": 0,
        "maxPriorityFeePerGas": 0,
        "value": 0,
        "data": data,
    }
    if to is not None:
        tx["to"] = to
    return acct.sign_transaction(tx).raw_transaction


def deploy_beacon(node: Node, acct: LocalAccount = MEMBERS[0], nonce: int = 0) -> str:
    """Submit the Beacon test contract's creation; its address."""
    node.submit_raw(signed(acct, nonce, None, BEACON.bytecode))
    return create_address(acct.address, nonce)
