"""Reading the chain: what the node and its read snapshots share, and the snapshot itself.

Every JSON-RPC read runs on a `ReadView`: a py-evm chain over one LMDB read transaction,
so it sees exactly the last committed block and never takes the node's write lock. A slow
read (a long eth_call, a wide eth_getLogs) then delays neither block production nor other
reads; LMDB readers never block the writer, nor the writer them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import rlp
from eth.abc import BlockAPI, BlockHeaderAPI, ChainAPI, ReceiptAPI
from eth.db.backends.base import BaseAtomicDB
from eth_typing import BlockNumber, Hash32

from ledger.chain.chainspec import chain_class
from ledger.chain.errors import StoreCorrupted
from ledger.chain.execution import Executor
from ledger.chain.ordered_trie import make_trie_root_and_nodes
from ledger.chain.store import LMDBSnapshot

if TYPE_CHECKING:
    from ledger.chain.genesis import GenesisSpec
    from ledger.chain.node import Node
    from ledger.chain.pool import TxPool

SEAL_PREFIX = b"custos:seal:"
MEMBERSHIP_KEY = b"custos:membership"
_RECEIPT_CACHE = 512


def seal_key(block_hash: bytes) -> bytes:
    """Where the seal of `block_hash` is stored."""
    return SEAL_PREFIX + block_hash


class ChainReader:
    """Reads blocks, receipts and seals from a py-evm chain over `db`; every body checked against its header."""

    chain: ChainAPI
    db: BaseAtomicDB
    spec: GenesisSpec
    _receipt_cache: dict[bytes, tuple[ReceiptAPI, ...]]

    _head: BlockHeaderAPI | None

    @property
    def head(self) -> BlockHeaderAPI:
        """The canonical head header (cached: a snapshot never moves; the node resets it when it writes)."""
        if self._head is None:
            self._head = self.chain.chaindb.get_canonical_head()
        return self._head

    @property
    def chain_id(self) -> int:
        """The chain id of the spec."""
        return self.spec.chain_id

    def header_by_number(self, number: int) -> BlockHeaderAPI:
        """Canonical header at `number`; raises HeaderNotFound."""
        return self.chain.chaindb.get_canonical_block_header_by_number(BlockNumber(number))

    def block(self, header: BlockHeaderAPI) -> BlockAPI:
        """The full block for `header`, its transactions checked against the header's root."""
        block = self.chain.get_vm_class(header).get_block_class().from_header(header, self.chain.chaindb)
        if block.transactions and make_trie_root_and_nodes(block.transactions)[0] != header.transaction_root:
            raise StoreCorrupted(f"store corrupted: block {header.block_number}'s transactions do not match its root")
        return block

    def receipts(self, header: BlockHeaderAPI) -> tuple[ReceiptAPI, ...]:
        """Receipts of the block with `header`, checked against its receipt root (cached: blocks are immutable)."""
        found = self._receipt_cache.get(header.hash)
        if found is None:
            builder = self.chain.get_vm_class(header).get_receipt_builder()
            found = tuple(self.chain.chaindb.get_receipts(header, builder))
            if make_trie_root_and_nodes(found)[0] != header.receipt_root:
                raise StoreCorrupted(f"store corrupted: block {header.block_number}'s receipts do not match its root")
            if len(self._receipt_cache) > _RECEIPT_CACHE:
                self._receipt_cache.clear()
            self._receipt_cache[header.hash] = found
        return found

    def locate(self, tx_hash: bytes) -> tuple[BlockAPI, int] | None:
        """The canonical block holding `tx_hash` and its index there; None if not mined.

        The index is a lookup table outside any root, so the transaction found there must
        have the hash asked for.
        """
        try:
            number, index = self.chain.chaindb.get_transaction_index(Hash32(tx_hash))
        except Exception:  # noqa: BLE001 — TransactionNotFound
            return None
        block = self.block(self.header_by_number(number))
        if index >= len(block.transactions) or block.transactions[index].hash != tx_hash:
            raise StoreCorrupted(f"store corrupted: the index of transaction 0x{tx_hash.hex()} points elsewhere")
        return block, index

    def seal_of(self, block_hash: bytes) -> bytes | None:
        """The stored seal of `block_hash` (None for genesis, which the spec defines)."""
        try:
            return bytes(self.db[seal_key(block_hash)])
        except KeyError:
            return None

    def raw_block(self, header: BlockHeaderAPI) -> bytes:
        """The RLP of the block with `header`: with its seal, all a follower needs to verify it."""
        return bytes(rlp.encode(self.block(header)))

    @property
    def membership(self) -> bytes | None:
        """The membership contract's address, or None while bootstrapping."""
        try:
            return bytes(self.db[MEMBERSHIP_KEY])
        except KeyError:
            return self.spec.membership


class ReadView(ChainReader):
    """The chain as of the last commit, for one request; never takes the node's lock."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.spec = node.spec
        self.db = self.snapshot = LMDBSnapshot(node.store.env)
        self.chain = chain_class(node.chain_id)(self.db)
        self.executor = Executor(self, node.call_time_limit)
        self._receipt_cache = node._receipt_cache
        self._head: BlockHeaderAPI | None = None

    @property
    def validator_address(self) -> bytes | None:
        """The node's sealing address, if it holds a validator key."""
        return self.node.validator_address

    @property
    def call_time_limit(self) -> float:
        """Seconds a call, estimate or trace may run."""
        return self.node.call_time_limit

    @property
    def pool(self) -> TxPool:
        """The node's pool (reads of it copy what they iterate)."""
        return self.node.pool

    def submit_raw(self, raw: bytes) -> bytes:
        """Admission is a write: handed to the node."""
        return self.node.submit_raw(raw)

    def close(self) -> None:
        """End the snapshot's read transaction."""
        self.snapshot.close()
