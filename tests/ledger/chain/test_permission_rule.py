"""Permission is a block-validity rule: checked when a block is built and when a replica imports it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import rlp

from ledger.chain.building import Candidate, build_block
from ledger.chain.errors import HistoryError
from ledger.chain.genesis import Account as GenesisAccount
from ledger.chain.genesis import GenesisSpec
from ledger.chain.node import Node, seal_key
from ledger.chain.sealing import sign_seal
from tests.ledger.chain.conftest import ALLOWLIST, CHAIN_ID, MEMBERS, OUTSIDER, VALIDATOR, allowlist_spec, signed

# An allowlist a member can edit: 64 bytes of calldata (account, flag) store the flag;
# anything else is transactionAllowed(sender, …) → storage[sender] != 0.
#   PUSH1 64 CALLDATASIZE EQ PUSH1 21 JUMPI  PUSH1 4 CALLDATALOAD SLOAD ISZERO ISZERO PUSH1 0 MSTORE
#   PUSH1 32 PUSH1 0 RETURN  JUMPDEST PUSH1 32 CALLDATALOAD PUSH1 0 CALLDATALOAD SSTORE STOP
EDITABLE_ALLOWLIST = bytes.fromhex("6040361460155760043554151560005260206000f35b6020356000355500")


def editable_spec() -> GenesisSpec:
    spec = allowlist_spec()
    alloc = dict(spec.alloc)
    alloc[ALLOWLIST] = GenesisAccount(code=EDITABLE_ALLOWLIST, storage={int(m.address, 16): 1 for m in MEMBERS})
    return GenesisSpec(
        chain_id=CHAIN_ID, validators=spec.validators, alloc=alloc, membership=ALLOWLIST, timestamp=int(time.time())
    )


def decode(raw: bytes):  # noqa: ANN201 — a py-evm signed transaction
    from ledger.chain.chainspec import CustosVM

    return CustosVM.get_transaction_builder().decode(raw)


def removal_of(who: str, nonce: int) -> bytes:
    payload = bytes.fromhex(who[2:]).rjust(32, b"\0") + (0).to_bytes(32, "big")
    return signed(MEMBERS[0], nonce, "0x" + ALLOWLIST.hex(), payload, gas=100_000)


def test_a_member_removed_while_its_transaction_waits_cannot_get_it_into_a_later_block(tmp_path: Path) -> None:
    node = Node.create(tmp_path, editable_spec(), VALIDATOR)
    try:
        node.instant = False
        leaver = MEMBERS[1]
        waiting = signed(leaver, 0, MEMBERS[2].address, b"", gas=21_000)
        node.submit_raw(waiting)  # admitted while still a member
        # Block 1 (a proposer's choice) removes the member; its transaction is still in the pool.
        built = node.build([Candidate(decode(removal_of(leaver.address, 0)), bytes.fromhex(MEMBERS[0].address[2:]))])
        node.commit_block(built.block, {seal_key(built.block.hash): sign_seal(VALIDATOR, CHAIN_ID, built.block.hash)})
        assert node.produce_block() is None
        assert node.head.block_number == 1 and node.pool.get(decode(waiting).hash) is None
        dropped = node.pool.dropped(decode(waiting).hash)
        assert dropped is not None and "not a member" in dropped.reason
    finally:
        node.close()


def test_a_validator_sealing_a_non_members_transaction_is_refused_by_every_replica(tmp_path: Path) -> None:
    producer = Node.create(tmp_path / "producer", allowlist_spec(), VALIDATOR)
    try:
        spec = producer.spec
        intruder = decode(signed(OUTSIDER, 0, MEMBERS[0].address, b"", gas=21_000))
        # The validator's own software skips the permission rule (the adversary here).
        built = build_block(
            producer.chain,
            producer.head,
            [Candidate(intruder, intruder.sender)],
            coinbase=VALIDATOR.public_key.to_canonical_address(),
            timestamp=int(time.time()),
            permitted=lambda tx, sender: None,
        )
        assert [tx.hash for tx in built.block.transactions] == [intruder.hash]
        raw, seal = rlp.encode(built.block), sign_seal(VALIDATOR, CHAIN_ID, built.block.hash)
        producer.store.rollback()
        replica = Node.create(tmp_path / "replica", spec, None)
        try:
            with pytest.raises(HistoryError, match="not a member"):
                replica.import_sealed_block(raw, seal)
            assert replica.head.block_number == 0
        finally:
            replica.close()
    finally:
        producer.close()
