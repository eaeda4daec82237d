"""Verifying a stored chain: on every open (checkpointed), and in full on demand.

On open, every block above the last verified height is checked: its parent link, the
chain's header rules (base fee 0 included), its seal, and its body (the transactions and
receipts must hash to the header's roots). The newest TIP_BLOCKS blocks are re-checked on
every open whatever the checkpoint says. The verified height and hash are
then recorded in the store, and every block this node seals or imports afterwards (valid by
construction, or re-executed on import) moves the record forward in the same LMDB
transaction that commits the block. So a restart costs the same at block 100 and at block
1,000,000: only the tip, and whatever was written without the record, is verified.

`verify_history(node, full=True)` (`custos chain verify --full`) re-executes every block
from genesis on a fresh in-memory state and compares each block's state, transaction and
receipt roots with the stored header: nothing the producer wrote is taken on trust.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import rlp
from eth.db.atomic import AtomicDB
from eth.exceptions import HeaderNotFound
from eth_utils import ValidationError

from ledger.chain.chainspec import CustosVM
from ledger.chain.errors import HistoryError, StoreCorrupted
from ledger.chain.genesis import build_genesis
from ledger.chain.log_index import verify_log_record
from ledger.chain.sealing import SealError, validator_set_hash, verify_seal

if TYPE_CHECKING:
    from eth.abc import BlockHeaderAPI

    from ledger.chain.node import Node

CHECKPOINT_KEY = b"custos:verified-height"
TIP_BLOCKS = 16


def record_checkpoint(node: Node, header: BlockHeaderAPI) -> None:
    """Buffer "verified up to `header`" into the store (committed with the block that reaches it)."""
    node.store[CHECKPOINT_KEY] = rlp.encode([header.block_number, header.hash])


def verified_checkpoint(node: Node) -> tuple[int, bytes] | None:
    """The recorded (height, hash) up to which the chain was verified, if any and still canonical."""
    try:
        height, block_hash = rlp.decode(node.store[CHECKPOINT_KEY])
        number = int.from_bytes(height, "big")
        if node.header_by_number(number).hash != block_hash:
            return None
    except (KeyError, HeaderNotFound, rlp.DecodingError, ValueError):
        return None
    return number, bytes(block_hash)


def verify_history(node: Node, full: bool = False, record: bool = True, from_genesis: bool = False) -> int:
    """Verify the stored chain up to the head; returns the head height (raises HistoryError).

    `record` writes the verified height (not from a second process while the node runs);
    `from_genesis` ignores it and checks every block (`full` implies it).
    """
    genesis = node.header_by_number(0)
    if genesis.extra_data != validator_set_hash(node.spec.validators):
        raise HistoryError("genesis extraData does not commit to the validator set of the spec")
    head = node.head.block_number
    checkpoint = None if full or from_genesis else verified_checkpoint(node)
    start = 1 if checkpoint is None else max(1, min(checkpoint[0] + 1, head + 1 - TIP_BLOCKS))
    parent = node.header_by_number(start - 1)
    for number in range(start, head + 1):
        header = node.header_by_number(number)
        _verify_header(node, header, parent)
        _verify_body(node, header)
        parent = header
    if full:
        _replay(node, head)
    if record and (checkpoint is None or checkpoint[0] != head):
        record_checkpoint(node, node.head)
        node.store.commit()
    return head


def _verify_header(node: Node, header: BlockHeaderAPI, parent: BlockHeaderAPI) -> None:
    number = header.block_number
    if header.parent_hash != parent.hash:
        raise HistoryError(f"block {number} does not link to block {number - 1}")
    try:
        CustosVM.validate_header(header, parent)
        verify_seal(node.chain_id, header.hash, node.seal_of(header.hash), node.validators)
    except (SealError, ValidationError) as exc:
        raise HistoryError(f"block {number} rejected: {exc}") from exc


def _verify_body(node: Node, header: BlockHeaderAPI) -> None:
    try:
        node.block(header)
        node.receipts(header)
        verify_log_record(node, header)
    except StoreCorrupted:
        raise
    except Exception as exc:  # noqa: BLE001 — a damaged body makes rlp/py-evm raise anything
        raise StoreCorrupted(f"store corrupted: block {header.block_number}'s body cannot be read: {exc}") from exc


def _replay(node: Node, head: int) -> None:
    """Re-execute blocks 1..head on a fresh state from the spec's genesis; every root must match."""
    replay = build_genesis(AtomicDB(), node.spec)
    if replay.get_canonical_head().hash != node.header_by_number(0).hash:
        raise HistoryError("genesis block does not match the genesis spec")
    for number in range(1, head + 1):
        block = node.block(node.header_by_number(number))
        try:
            imported = replay.import_block(block).imported_block
        except ValidationError as exc:
            raise HistoryError(f"block {number} does not re-execute to its header: {exc}") from exc
        if imported.hash != block.hash:
            raise HistoryError(f"block {number} re-executes to a different block")
