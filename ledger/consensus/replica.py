"""One organisation's node in a consortium: blocks enter its store only as final blocks with a quorum of seals.

A `Replica` is the embedded `Node` with three differences:
- admission: a transaction that passes the node's checks is written to etcd (the ordering
  service) before the call returns, so it survives this node's crash; every node's pool is
  fed from etcd in revision order;
- a proposal is re-executed on the parent state and checked (proposer is a validator,
  coinbase is the proposer, permission of every sender at the parent, declared gas within the
  target, timestamp not ahead of the clock); its writes are then set aside until it is final;
- a final block is committed together with its seals in one store transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import rlp
from eth.abc import BlockAPI, BlockHeaderAPI
from eth_typing import BlockNumber
from eth_utils import ValidationError

from ledger.chain.admission import decode_raw
from ledger.chain.chainspec import GAS_TARGET
from ledger.chain.errors import ChainError, HistoryError, NotPermitted, TxRejected
from ledger.chain.log_index import record_logs
from ledger.chain.node import Node
from ledger.chain.sealing import SealError, recover_sealer

SEALS_PREFIX = b"custos:seals:"
# A proposal's timestamp may run this far ahead of a validator's clock.
MAX_CLOCK_DRIFT = 15

Stash = dict[bytes, bytes | None]


class InvalidProposal(Exception):
    """A proposed block breaks a rule (the message says which)."""


def seals_key(block_hash: bytes) -> bytes:
    """Where the seals of a final block are stored."""
    return SEALS_PREFIX + block_hash


class Replica(Node):
    """The node of one consortium member, fed by the consensus engine."""

    publish: Callable[[bytes, bytes], None] | None = None
    on_admitted: Callable[[], None] | None = None

    # -- no producer thread: blocks arrive through the consensus engine --
    def start(self) -> None:
        """Nothing to start: the consensus engine drives this node."""

    def stop(self) -> None:
        """Nothing to stop (see `start`)."""

    def produce_block(self) -> BlockHeaderAPI | None:
        """A consortium node never seals alone."""
        raise TxRejected("a consortium node seals blocks only through the consensus protocol")

    # -- admission --
    def submit_raw(self, raw: bytes) -> bytes:
        """Check a transaction as the single node does, then order it through etcd; returns its hash."""
        tx, sender = self.check_admission(raw)
        if self.publish is None:
            raise TxRejected("this node is not connected to the ordering service")
        self.publish(tx.hash, raw)
        with self.lock:
            if (
                self.pool.get(tx.hash) is None
                and not self._is_mined(tx.hash)
                and not self.pool.has_nonce(sender, tx.nonce)
            ):
                self.pool.add(tx, sender)
        if self.on_admitted is not None:
            self.on_admitted()
        return tx.hash

    def ingest(self, raw: bytes) -> None:
        """Add a transaction read from etcd to the pool (silently skipped if undecodable, mined or stale)."""
        with self.lock:
            try:
                tx = decode_raw(raw, self.chain_id)
            except ChainError:
                return
            if self.pool.get(tx.hash) is not None or self._is_mined(tx.hash):
                return
            sender = tx.sender
            if self.pool.has_nonce(sender, tx.nonce) or tx.nonce < self.executor.head_state().get_nonce(sender):
                return
            self.pool.add(tx, sender)

    # -- proposing --
    def build_proposal(self, proposer: bytes) -> tuple[BlockAPI, Stash] | None:
        """Build a block from the pool on the head; its writes are set aside. None if the pool is empty."""
        with self.lock:
            for entry in self.pool.ordered():
                try:
                    self.permission.check(entry.tx, entry.sender)
                except NotPermitted:
                    self.pool.remove(entry.tx.hash)
            try:
                block = self.assemble_block(proposer)
            except BaseException:
                self.store.rollback()
                raise
            if block is None:
                self.store.rollback()
                return None
            return block, self.store.set_aside()

    # -- validating --
    def decode_block(self, raw: bytes) -> BlockAPI:
        """Decode a block of the next height; raises InvalidProposal."""
        block_class = self.chain.get_vm_class_for_block_number(
            BlockNumber(self.head.block_number + 1)
        ).get_block_class()
        try:
            block: BlockAPI = rlp.decode(raw, sedes=block_class)
        except (rlp.DecodingError, rlp.DeserializationError) as exc:
            raise InvalidProposal(f"undecodable block: {exc}") from None
        return block

    def validate(self, block: BlockAPI, proposer: bytes, validators: frozenset[bytes]) -> Stash:
        """Re-execute `block` on the head and check the consortium's rules; returns its set-aside writes."""
        with self.lock:
            self.check_rules(block, proposer, validators)
            try:
                self.chain.import_block(block)
            except (ValidationError, ValueError, KeyError) as exc:
                self.store.rollback()
                raise InvalidProposal(f"block {block.number} does not re-execute: {exc}") from None
            except BaseException:
                self.store.rollback()
                raise
            return self.store.set_aside()

    def check_rules(self, block: BlockAPI, proposer: bytes, validators: frozenset[bytes]) -> None:
        """Raise InvalidProposal unless `block` obeys the consortium's rules on our head (no execution)."""
        header = block.header
        head = self.head
        if proposer not in validators:
            raise InvalidProposal(f"proposer 0x{proposer.hex()} is not a validator at block {head.block_number}")
        if header.parent_hash != head.hash or header.block_number != head.block_number + 1:
            raise InvalidProposal(f"block {header.block_number} does not extend head {head.block_number}")
        if header.coinbase != proposer:
            raise InvalidProposal("coinbase is not the proposer")
        if header.timestamp > int(time.time()) + MAX_CLOCK_DRIFT:
            raise InvalidProposal(f"timestamp {header.timestamp} is ahead of this validator's clock")
        if not block.transactions:
            raise InvalidProposal("an empty block is never proposed")
        declared = sum(tx.gas for tx in block.transactions)
        if len(block.transactions) > 1 and declared > GAS_TARGET:
            raise InvalidProposal(f"declared gas {declared} exceeds the target {GAS_TARGET}")
        for tx in block.transactions:
            if getattr(tx, "chain_id", None) != self.chain_id:
                raise InvalidProposal(f"transaction 0x{tx.hash.hex()} is not for chain {self.chain_id}")
            try:
                self.permission.check(tx, tx.sender)
            except NotPermitted as exc:
                raise InvalidProposal(f"transaction 0x{tx.hash.hex()}: {exc.message}") from None

    # -- committing --
    def commit_final(self, block: BlockAPI, seals: list[bytes], stash: Stash | None) -> BlockHeaderAPI:
        """Commit a final block with its seals in one store transaction (re-executing it unless `stash` holds it)."""
        with self.lock:
            if block.header.parent_hash != self.head.hash:
                raise HistoryError(f"final block {block.number} does not extend our head {self.head.block_number}")
            try:
                if stash is not None:
                    self.store.restore(stash)
                else:
                    self.chain.import_block(block)
                self.store[seals_key(block.header.hash)] = rlp.encode(seals)
                record_logs(self, block)  # the log index, in the block's own commit (ledger.chain.log_index)
                self.store.commit()
            except (ValidationError, ValueError, KeyError) as exc:
                self.store.rollback()
                self._head = None
                raise HistoryError(f"final block {block.number} does not re-execute: {exc}") from None
            except BaseException:
                self.store.rollback()
                self._head = None
                raise
            self._head = block.header
            self.pool_forget(block.transactions)
        # Wake receipt queries waiting on these transactions (Node.wait_while_pending): without
        # this, every receipt asked for before finality answered only after its full wait.
        self._announce()
        return block.header

    def seals_of(self, block_hash: bytes) -> list[bytes]:
        """The stored seals of a final block (empty for genesis or an unknown block)."""
        try:
            return list(rlp.decode(self.store[seals_key(block_hash)]))
        except KeyError:
            return []

    def sealers_of(self, block_hash: bytes) -> set[bytes]:
        """The addresses whose stored seals over `block_hash` verify."""
        out = set()
        for seal in self.seals_of(block_hash):
            try:
                out.add(recover_sealer(self.chain_id, block_hash, seal))
            except SealError:
                continue
        return out
