"""Blocks are self-contained: a second node replays another's sealed blocks and verifies them."""

from __future__ import annotations

from pathlib import Path

import pytest
import rlp
from eth_keys import keys

from ledger.chain.errors import HistoryError
from ledger.chain.node import Node
from ledger.chain.sealing import sign_seal
from tests.ledger.chain.conftest import MEMBERS, deploy_beacon, signed


@pytest.fixture
def sealed_blocks(node: Node) -> list[tuple[bytes, bytes]]:
    """Three sealed blocks from the producer: a deployment, a call, a transfer."""
    address = deploy_beacon(node)
    node.submit_raw(signed(MEMBERS[0], 1, address, bytes.fromhex("773acdef" + "00" * 31 + "05")))
    node.submit_raw(signed(MEMBERS[1], 0, MEMBERS[2].address, b"", gas=21_000))
    headers = [node.header_by_number(n) for n in range(1, node.head.block_number + 1)]
    return [(node.raw_block(h), node.seal_of(h.hash)) for h in headers]


@pytest.fixture
def follower(node: Node, tmp_path: Path) -> Node:
    """A node with the same genesis and no validator key: it can only verify and import."""
    replica = Node.create(tmp_path / "follower", node.spec, None)
    yield replica
    replica.close()


def test_follower_replays_sealed_blocks_to_the_same_head(node: Node, follower: Node, sealed_blocks) -> None:
    for raw, seal in sealed_blocks:
        follower.import_sealed_block(raw, seal)
    assert follower.head == node.head
    assert follower.verify_history() == node.head.block_number


def test_follower_rejects_a_block_sealed_by_a_stranger(node: Node, follower: Node, sealed_blocks) -> None:
    raw, _ = sealed_blocks[0]
    forged = sign_seal(keys.PrivateKey(b"\x42" * 32), node.chain_id, node.header_by_number(1).hash)
    with pytest.raises(HistoryError, match="not a validator"):
        follower.import_sealed_block(raw, forged)
    assert follower.head.block_number == 0


def test_follower_rejects_a_block_whose_header_was_changed_after_sealing(
    node: Node, follower: Node, sealed_blocks
) -> None:
    raw, seal = sealed_blocks[0]
    block = node.block(node.header_by_number(1))
    shifted = block.copy(header=block.header.copy(timestamp=block.header.timestamp + 1))
    with pytest.raises(HistoryError):
        follower.import_sealed_block(rlp.encode(shifted), seal)
    assert follower.head.block_number == 0


def test_follower_rejects_a_block_whose_transactions_were_swapped(node: Node, follower: Node, sealed_blocks) -> None:
    follower.import_sealed_block(*sealed_blocks[0])
    raw, seal = sealed_blocks[1]
    block = node.block(node.header_by_number(2))
    other = node.block(node.header_by_number(3)).transactions
    with pytest.raises(HistoryError, match="transaction_root"):
        follower.import_sealed_block(rlp.encode(block.copy(transactions=other)), seal)
    assert follower.head.block_number == 1


def test_raw_blocks_and_seals_are_served_over_json_rpc(node: Node, follower: Node, sealed_blocks) -> None:
    from ledger.chain.rpc import RPCServer

    rpc = RPCServer(node)
    for number in range(1, node.head.block_number + 1):
        raw = rpc.handle({"jsonrpc": "2.0", "id": 1, "method": "debug_getRawBlock", "params": [hex(number)]})["result"]
        block_hash = "0x" + node.header_by_number(number).hash.hex()
        seal = rpc.handle({"jsonrpc": "2.0", "id": 2, "method": "custos_getBlockSeal", "params": [block_hash]})[
            "result"
        ]
        follower.import_sealed_block(bytes.fromhex(raw[2:]), bytes.fromhex(seal[2:]))
    assert follower.head == node.head
