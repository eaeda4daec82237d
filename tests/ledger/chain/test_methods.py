"""What web3.py calls, answered in the shapes it validates: blocks, transactions, logs, filters, fees, state."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web3 import Web3
from web3.exceptions import BlockNotFound

from ledger.artifacts import load
from ledger.chain.node import Node
from ledger.chain.provider import NodeProvider
from tests.ledger.chain.conftest import CHAIN_ID, MEMBERS

BEACON = load("Beacon")


@pytest.fixture
def w3(node: Node) -> Iterator[Web3]:
    yield Web3(NodeProvider(node))


def send(w3: Web3, call, account=MEMBERS[0]):  # type: ignore[no-untyped-def]  # a test helper returning web3's receipt dict
    tx = call.build_transaction(
        {"from": account.address, "nonce": w3.eth.get_transaction_count(account.address, "pending")}
    )
    return w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    )


@pytest.fixture
def beacon(w3: Web3):  # type: ignore[no-untyped-def]  # a test helper returning a web3 contract
    receipt = send(w3, w3.eth.contract(abi=BEACON.abi, bytecode=BEACON.bytecode).constructor())
    contract = w3.eth.contract(address=receipt.contractAddress, abi=BEACON.abi)
    for step in (2, 3):
        send(w3, contract.functions.ping(step))
    return contract


def test_node_identity(w3: Web3) -> None:
    assert w3.eth.chain_id == CHAIN_ID and w3.net.version == str(CHAIN_ID)
    assert w3.client_version.startswith("custos-chain/") and w3.eth.syncing is False


def test_blocks_by_number_and_hash_with_and_without_transactions(w3: Web3, beacon) -> None:
    latest = w3.eth.get_block("latest")
    by_hash = w3.eth.get_block(latest.hash, full_transactions=True)
    assert by_hash.number == latest.number == 3 and by_hash.transactions[0].hash == latest.transactions[0]
    assert w3.eth.get_block_transaction_count(latest.hash) == 1
    tx = w3.eth.get_transaction(latest.transactions[0])
    assert tx.blockHash == latest.hash and tx["from"] == MEMBERS[0].address
    assert w3.eth.get_transaction_by_block(3, 0).hash == tx.hash
    with pytest.raises(BlockNotFound):
        w3.eth.get_block(99)


def test_logs_by_address_topics_range_and_block_hash(w3: Web3, beacon) -> None:
    topic = w3.keccak(text="Pinged(address,uint256)")
    sender_topic = "0x" + "00" * 12 + MEMBERS[0].address[2:].lower()
    logs = w3.eth.get_logs(
        {"address": beacon.address, "topics": [topic, sender_topic], "fromBlock": 0, "toBlock": "latest"}
    )
    assert [int(log.data.hex(), 16) for log in logs] == [2, 5]
    assert w3.eth.get_logs({"fromBlock": 3, "toBlock": 3, "topics": [topic]})[0].blockNumber == 3
    assert len(w3.eth.get_logs({"blockHash": logs[0].blockHash})) == 1
    assert w3.eth.get_logs({"topics": [w3.keccak(text="Other()")], "fromBlock": 0}) == []


def test_log_and_block_filters_return_only_what_is_new(w3: Web3, beacon) -> None:
    log_filter = w3.eth.filter({"address": beacon.address, "fromBlock": 0})
    block_filter = w3.eth.filter("latest")
    assert log_filter.get_new_entries() == [] and block_filter.get_new_entries() == []
    receipt = send(w3, beacon.functions.ping(4))
    assert [e.transactionHash for e in log_filter.get_new_entries()] == [receipt.transactionHash]
    assert block_filter.get_new_entries() == [receipt.blockHash]
    assert log_filter.get_new_entries() == []
    assert len(w3.eth.get_filter_logs(log_filter.filter_id)) == 3
    assert w3.eth.uninstall_filter(log_filter.filter_id)


def test_state_reads_at_past_blocks(w3: Web3, beacon) -> None:
    assert beacon.functions.count().call(block_identifier=2) == 2
    assert beacon.functions.count().call() == 5
    assert int.from_bytes(w3.eth.get_storage_at(beacon.address, 0), "big") == 5
    assert w3.eth.get_code(beacon.address) == BEACON.deployed_bytecode
    assert w3.eth.get_balance(MEMBERS[0].address) == 10**24  # zero base fee, zero tips
    assert w3.eth.get_transaction_count(MEMBERS[0].address, "pending") == 3


def test_fees_and_estimates(w3: Web3, beacon) -> None:
    assert w3.eth.gas_price == 0 and w3.eth.max_priority_fee == 0
    history = w3.eth.fee_history(3, "latest", [50])
    assert history.oldestBlock == 1 and len(history.baseFeePerGas) == 4 and history.reward == [[0], [0], [0]]
    gas = beacon.functions.ping(1).estimate_gas({"from": MEMBERS[0].address})
    assert 21_000 < gas < 60_000
