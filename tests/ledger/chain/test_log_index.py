"""The node's log index: written with each block, served by eth_getLogs, checked against the receipts on open."""

from __future__ import annotations

import pytest
from web3 import Web3

from ledger.chain import filters
from ledger.chain.errors import HistoryError
from ledger.chain.log_index import log_record_key, read_log_record
from ledger.chain.node import Node
from tests.ledger.chain.conftest import BEACON, MEMBERS, ChainDir, deploy_beacon, signed

PING = Web3().eth.contract(abi=BEACON.abi)


def two_senders_pinging_in_one_block(node: Node) -> tuple[str, int]:
    """Beacon deployed, then one block holding three pings from two members; (beacon, that block)."""
    beacon = deploy_beacon(node)
    node.instant = False
    for acct, nonce, step in ((MEMBERS[0], 1, 5), (MEMBERS[1], 0, 7), (MEMBERS[0], 2, 9)):
        node.submit_raw(signed(acct, nonce, beacon, PING.encode_abi("ping", [step])))
    header = node.produce_block()
    assert header is not None
    return beacon, header.block_number


def test_logs_served_from_the_index_equal_those_rebuilt_from_receipts(chain_dir: ChainDir) -> None:
    node = Node.open(chain_dir.path, chain_dir.validator)
    try:
        beacon, number = two_senders_pinging_in_one_block(node)
        header = node.header_by_number(number)
        record = read_log_record(node, header)
        assert record is not None and len(record[0]) == 3 and len(record[1]) == 3  # three txs, three logs
        sender_topic = b"\x00" * 12 + bytes.fromhex(MEMBERS[1].address[2:])
        for raw in (
            {"address": beacon},
            {"address": [beacon, "0x" + "00" * 20]},
            {"topics": [None, "0x" + sender_topic.hex()]},
            {"topics": [["0x" + "11" * 32]]},
            {},
        ):
            query = filters.log_query(raw)
            assert filters.logs_in_block(node, header, query) == filters._logs_from_receipts(node, header, query)
        served = filters.logs_in_block(node, header, filters.log_query({"topics": [None, "0x" + sender_topic.hex()]}))
        assert [log["logIndex"] for log in served] == ["0x1"] and served[0]["transactionIndex"] == "0x1"
    finally:
        node.close()


def test_a_block_without_a_record_is_served_from_its_receipts(chain_dir: ChainDir) -> None:
    node = Node.open(chain_dir.path, chain_dir.validator)
    try:
        beacon, number = two_senders_pinging_in_one_block(node)
        header = node.header_by_number(number)
        query = filters.log_query({"address": beacon})
        indexed = filters.logs_in_block(node, header, query)
        del node.store[log_record_key(header.hash)]  # a store written before the index existed
        node.store.commit()
        assert read_log_record(node, header) is None
        assert filters.logs_in_block(node, header, query) == indexed and len(indexed) == 3
    finally:
        node.close()


def test_a_log_record_edited_in_the_store_is_refused_when_the_node_opens(chain_dir: ChainDir) -> None:
    node = Node.open(chain_dir.path, chain_dir.validator)
    _, number = two_senders_pinging_in_one_block(node)
    key = log_record_key(node.header_by_number(number).hash)
    record = bytearray(node.store[key])
    record[-1] ^= 1  # the last log's data: a forged amount
    node.store[key] = bytes(record)
    node.store.commit()
    node.close()
    with pytest.raises(HistoryError, match=f"block {number}'s log index differs from its receipts"):
        Node.open(chain_dir.path, chain_dir.validator)
