"""Smoke run: an in-memory py-evm chain that deploys the Beacon artifact and calls it.

It proves the toolchain end to end (artifact → EVM → call) with no node and no network.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from eth import constants
from eth._utils.address import generate_contract_address
from eth.abc import SignedTransactionAPI
from eth.chains.base import MiningChain
from eth.db.atomic import AtomicDB
from eth.vm.forks import CancunVM
from eth.vm.spoof import SpoofTransaction
from eth_keys import keys
from eth_utils import to_checksum_address
from web3 import Web3

from ledger.artifacts import load

SMOKE_CHAIN_ID = 1337
# A throwaway development key: it funds the in-memory smoke chain and nothing else.
_DEV_KEY = keys.PrivateKey(b"\x11" * 32)


@dataclass(frozen=True)
class SmokeResult:
    """What the smoke run did: the contract's address and the counter it read back."""

    address: str
    count: int
    deploy_gas: int


def run_smoke() -> SmokeResult:
    """Deploy Beacon on a fresh in-memory py-evm chain, ping it, read the counter back."""
    sender = _DEV_KEY.public_key.to_canonical_address()
    chain_class = MiningChain.configure(
        __name__="SmokeChain",
        vm_configuration=((constants.GENESIS_BLOCK_NUMBER, CancunVM),),
        chain_id=SMOKE_CHAIN_ID,
    )
    genesis = {
        "difficulty": 0,
        "gas_limit": 30_000_000,
        "timestamp": int(time.time()),
        "coinbase": constants.ZERO_ADDRESS,
    }
    state = {sender: {"balance": 10**24, "nonce": 0, "code": b"", "storage": {}}}
    chain = chain_class.from_genesis(AtomicDB(), genesis, state)

    artifact = load("Beacon")
    beacon = Web3().eth.contract(abi=artifact.abi)

    def signed(nonce: int, to: bytes, data: bytes) -> SignedTransactionAPI:
        return (
            chain.get_vm()
            .create_unsigned_transaction(nonce=nonce, gas_price=10**9, gas=2_000_000, to=to, value=0, data=data)
            .as_signed_transaction(_DEV_KEY, chain_id=SMOKE_CHAIN_ID)
        )

    address = generate_contract_address(sender, 0)
    ping = bytes.fromhex(beacon.encode_abi("ping", [42])[2:])
    transactions = [signed(0, b"", artifact.bytecode), signed(1, address, ping)]
    _, receipts, computations = chain.mine_all(transactions)  # type: ignore[attr-defined]  # a MiningChain, typed BaseChain
    for computation in computations:
        computation.raise_if_error()
    count_call = bytes.fromhex(beacon.encode_abi("count", [])[2:])
    # A read-only call: spoof the sender, since re-signing for a free call changes it.
    call = chain.get_vm().create_unsigned_transaction(
        nonce=2, gas_price=0, gas=100_000, to=address, value=0, data=count_call
    )
    raw = chain.get_transaction_result(SpoofTransaction(call, from_=sender), chain.header)  # type: ignore[attr-defined]  # as above
    deploy_gas = receipts[0].gas_used
    return SmokeResult(address=to_checksum_address(address), count=int.from_bytes(raw, "big"), deploy_gas=deploy_gas)
