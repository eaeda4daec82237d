"""Restart time does not grow with height: verification is checkpointed (tested at 100,000 blocks)."""

from __future__ import annotations

import time

import coincurve
import rlp
from eth.db.schema import SchemaV1
from eth_utils import keccak

from ledger.chain.node import Node, seal_key
from ledger.chain.sealing import seal_digest, sign_seal
from ledger.chain.verification import record_checkpoint
from tests.ledger.chain.conftest import CHAIN_ID, MEMBERS, VALIDATOR, ChainDir, signed

HEIGHT = 100_000
RESTART_BOUND = 2.0


def append_empty_sealed_blocks(node: Node, count: int) -> None:
    """Write `count` sealed empty blocks the way the producer commits them, minus py-evm's bookkeeping.

    An empty block repeats its parent's roots, so each is block 1's header with a new parent
    and number, encoded from block 1's RLP items and sealed with libsecp256k1 directly;
    writing the keys directly takes seconds where persisting through py-evm takes minutes.
    The checkpoint moves with them, as it does when the producer seals.
    """
    built = node.build([])
    node.commit_block(built.block, {seal_key(built.block.hash): sign_seal(VALIDATOR, CHAIN_ID, built.block.hash)})
    template = node.head
    fields = list(type(template).serialize(template))  # RLP items: parent hash first, number ninth
    score = rlp.encode(0, sedes=rlp.sedes.big_endian_int)
    signer = coincurve.PrivateKey(VALIDATOR.to_bytes())
    store = node.store
    block_hash = template.hash
    # The RLP list is rebuilt by hand around the two fields that change (rlp.encode is slow).
    middle, tail = b"".join(map(rlp.encode, fields[1:8])), b"".join(map(rlp.encode, fields[9:]))
    for number in range(2, count + 1):
        payload = b"\xa0" + block_hash + middle + rlp.encode(number) + tail
        encoded = _list_prefix(len(payload)) + payload
        block_hash = keccak(encoded)
        store[block_hash] = encoded
        store[SchemaV1.make_block_number_to_hash_lookup_key(number)] = b"\xa0" + block_hash
        store[SchemaV1.make_block_hash_to_score_lookup_key(block_hash)] = score
        store[seal_key(block_hash)] = signer.sign_recoverable(seal_digest(CHAIN_ID, block_hash), hasher=None)
    store[SchemaV1.make_canonical_head_hash_lookup_key()] = block_hash
    store.commit()
    record_checkpoint(node, node.header_by_number(count))
    store.commit()


def _list_prefix(length: int) -> bytes:
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0xC0 + length]) if length < 56 else bytes([0xF7 + len(size)]) + size


def test_a_node_at_100000_blocks_restarts_within_two_seconds_and_seals(chain_dir: ChainDir) -> None:
    node = Node.open(chain_dir.path, chain_dir.validator)
    try:
        append_empty_sealed_blocks(node, HEIGHT)
    finally:
        node.close()
    started = time.monotonic()
    node = Node.open(chain_dir.path, chain_dir.validator)
    elapsed = time.monotonic() - started
    try:
        assert node.head.block_number == HEIGHT
        assert elapsed < RESTART_BOUND, f"restart at {HEIGHT} blocks took {elapsed:.2f} s"
        node.submit_raw(signed(MEMBERS[0], 0, MEMBERS[1].address, b"", gas=21_000))
        assert node.head.block_number == HEIGHT + 1
    finally:
        node.close()
