"""The node: durable restart, seals verified on load, permissioning, honest timestamps."""

from __future__ import annotations

import time

import pytest
from eth_keys import keys
from web3 import Web3

from ledger.chain.errors import HistoryError, InvalidTx, NotPermitted, TxRejected
from ledger.chain.genesis import Account as GenesisAccount
from ledger.chain.genesis import GenesisSpec
from ledger.chain.node import Node, seal_key
from ledger.chain.sealing import sign_seal
from tests.ledger.chain.conftest import BEACON, CHAIN_ID, MEMBERS, OUTSIDER, VALIDATOR, ChainDir, deploy_beacon, signed
from tests.waiting import wait_for


def test_restarted_node_resumes_from_its_head(chain_dir: ChainDir) -> None:
    node = Node.open(chain_dir.path, chain_dir.validator)
    deploy_beacon(node)
    head = node.head
    node.close()
    reopened = Node.open(chain_dir.path, chain_dir.validator)
    try:
        assert reopened.head == head
        assert reopened.verify_history() == 1
    finally:
        reopened.close()


def test_wrongly_sealed_history_is_rejected_on_load(chain_dir: ChainDir) -> None:
    node = Node.open(chain_dir.path, chain_dir.validator)
    deploy_beacon(node)
    impostor = keys.PrivateKey(b"\x42" * 32)
    node.store[seal_key(node.head.hash)] = sign_seal(impostor, CHAIN_ID, node.head.hash)
    node.store.commit()
    node.close()
    with pytest.raises(HistoryError, match="not a validator"):
        Node.open(chain_dir.path, chain_dir.validator)


def test_unsealed_history_is_rejected_on_load(chain_dir: ChainDir) -> None:
    node = Node.open(chain_dir.path, chain_dir.validator)
    deploy_beacon(node)
    del node.store[seal_key(node.head.hash)]
    node.store.commit()
    node.close()
    with pytest.raises(HistoryError, match="not sealed"):
        Node.open(chain_dir.path, chain_dir.validator)


def test_non_member_transaction_is_refused_before_the_pool(node: Node) -> None:
    with pytest.raises(NotPermitted, match="not a member") as refused:
        node.submit_raw(signed(OUTSIDER, 0, None, BEACON.bytecode))
    assert refused.value.code == -32007
    assert len(node.pool) == 0 and node.head.block_number == 0


def test_only_the_bootstrap_account_transacts_before_membership_exists(tmp_path) -> None:
    bootstrap, other = MEMBERS[0], MEMBERS[1]
    spec = GenesisSpec(
        chain_id=CHAIN_ID,
        validators=(VALIDATOR.public_key.to_canonical_address(),),
        alloc={bytes.fromhex(a.address[2:]): GenesisAccount(balance=10**20) for a in MEMBERS},
        bootstrap=bytes.fromhex(bootstrap.address[2:]),
        timestamp=int(time.time()),
    )
    node = Node.create(tmp_path, spec, VALIDATOR)
    try:
        with pytest.raises(NotPermitted, match="bootstrapping"):
            node.submit_raw(signed(other, 0, None, BEACON.bytecode))
        node.submit_raw(signed(bootstrap, 0, None, BEACON.bytecode))
        assert node.head.block_number == 1
    finally:
        node.close()


def test_replayed_and_foreign_chain_transactions_are_refused(node: Node) -> None:
    raw = signed(MEMBERS[0], 0, None, BEACON.bytecode)
    node.submit_raw(raw)
    with pytest.raises(TxRejected, match="already known"):
        node.submit_raw(raw)
    foreign = MEMBERS[0].sign_transaction(
        {
            "chainId": 1,
            "nonce": 1,
            "gas": 100_000,
            "maxFeePerGas": 0,
            "maxPriorityFeePerGas": 0,
            "to": MEMBERS[1].address,
            "value": 0,
        }
    )
    with pytest.raises(InvalidTx, match="wrong chain id"):
        node.submit_raw(foreign.raw_transaction)
    with pytest.raises(InvalidTx):
        node.submit_raw(b"\x02\xc0garbage")


def test_producer_batches_a_burst_without_running_ahead_of_the_clock(node: Node) -> None:
    address = deploy_beacon(node)
    ping = bytes.fromhex(Web3().eth.contract(abi=BEACON.abi).encode_abi("ping", [1])[2:])
    node.instant = False  # hold the burst in the pool, then let the producer thread take it
    for nonce in range(1, 201):
        node.submit_raw(signed(MEMBERS[0], nonce, address, ping, gas=80_000))
    node.start()
    wait_for(lambda: not len(node.pool), 60, "the producer to take the burst from the pool")
    node.stop()
    assert node.executor.call(b"\0" * 20, bytes.fromhex(address[2:]), bytes.fromhex("06661abd")) == (200).to_bytes(
        32, "big"
    )
    # 200 transactions (16M gas declared, under the 30M target) in one block, not after now.
    assert node.head.block_number == 2
    assert len(node.block(node.head).transactions) == 200
    assert node.head.timestamp <= time.time()
