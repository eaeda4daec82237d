"""Test doubles for another organisation's cheating software: it holds a validator key and writes to etcd directly."""

from __future__ import annotations

import time

import rlp
from eth.constants import BLANK_ROOT_HASH, EMPTY_UNCLE_HASH
from eth.vm.forks.cancun.headers import CancunBlockHeader
from eth_account.signers.local import LocalAccount
from eth_keys import keys

from ledger.chain.chainspec import CustosVM
from ledger.chain.ordered_trie import make_trie_root_and_nodes
from ledger.consensus.etcd import EtcdClient
from ledger.consensus.keyspace import Keyspace
from ledger.consensus.messages import Proposal
from tests.ledger.consensus.consortium import CHAIN_ID, rpc


def current_round(client: EtcdClient, height: int) -> int:
    """The lowest round of `height` that etcd does not show abandoned."""
    ks = Keyspace(CHAIN_ID)
    abandoned, _ = client.range_prefix(ks.root + b"abandoned/" + b"%012d/" % height)
    rounds = {int(kv.key.rsplit(b"/", 1)[1]) for kv in abandoned}
    r = 0
    while r in rounds:
        r += 1
    return r


def forged_block(
    url: str, proposer: bytes, raw_txs: list[bytes], state_root: bytes | None = None
) -> tuple[int, bytes, bytes]:
    """A block on the node's head holding `raw_txs`, with the given (wrong) state root; (height, hash, rlp)."""
    head_raw = bytes.fromhex(rpc(url, "debug_getRawBlock", ["latest"])[2:])
    head = rlp.decode(head_raw, sedes=CustosVM.get_block_class()).header
    txs = [CustosVM.get_transaction_builder().decode(raw) for raw in raw_txs]
    tx_root, _ = make_trie_root_and_nodes(tuple(txs))
    header = CancunBlockHeader(
        parent_hash=head.hash,
        uncles_hash=EMPTY_UNCLE_HASH,
        coinbase=proposer,
        state_root=state_root or head.state_root,
        transaction_root=tx_root,
        receipt_root=head.receipt_root,
        bloom=0,
        difficulty=0,
        block_number=head.block_number + 1,
        gas_limit=head.gas_limit,
        gas_used=sum(tx.gas for tx in txs),
        timestamp=max(int(time.time()), head.timestamp),
        extra_data=b"",
        mix_hash=b"\x00" * 32,
        nonce=b"\x00" * 8,
        base_fee_per_gas=0,
        withdrawals_root=BLANK_ROOT_HASH,
        blob_gas_used=0,
        excess_blob_gas=0,
        parent_beacon_block_root=head.parent_beacon_block_root,
    )
    block = CustosVM.get_block_class()(header, transactions=txs, uncles=[], withdrawals=[])
    return header.block_number, block.hash, rlp.encode(block)


def write_proposal(
    client: EtcdClient, key: LocalAccount, height: int, round_: int, block_hash: bytes, raw: bytes
) -> None:
    """Write a signed proposal for (height, round) straight into etcd, as a cheating proposer would."""
    proposal = Proposal.make(keys.PrivateKey(key.key), CHAIN_ID, height, round_, block_hash, raw)
    assert client.create(Keyspace(CHAIN_ID).proposal(height, round_), proposal.to_bytes()), "round already proposed"


def propose_forgery(
    url: str, client: EtcdClient, cheat: LocalAccount, raw_txs: list[bytes], state_root: bytes | None = None
) -> tuple[int, int, bytes]:
    """`cheat` proposes a block it forged on `url`'s head for the height's current round; (height, round, hash)."""
    height, block_hash, raw = forged_block(url, bytes.fromhex(cheat.address[2:]), raw_txs, state_root)
    round_ = current_round(client, height)
    write_proposal(client, cheat, height, round_, block_hash, raw)
    return height, round_, block_hash


def transfer(sender: LocalAccount, nonce: int, to: str | None = None) -> bytes:
    """A signed value transfer (raw bytes)."""
    return bytes(
        sender.sign_transaction(
            {"chainId": CHAIN_ID, "nonce": nonce, "gas": 21_000, "gasPrice": 0, "to": to or sender.address, "value": 1}
        ).raw_transaction
    )
