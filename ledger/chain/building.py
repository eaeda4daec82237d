"""Building a block from a list of candidate transactions, without sealing it.

`build_block` is the one way a block's body is chosen and executed: the single-validator
producer calls it with its pool, and a multi-validator proposer can call it with any
ordered list. It never fails because of one transaction: a candidate that cannot be
applied (stale or gapped nonce, not permitted, too little balance, any py-evm error) is
either left waiting (a nonce gap: an earlier nonce may still arrive) or dropped with a
reason, and the block is built from the rest.

Why a failed candidate restarts the build instead of reverting a snapshot: py-evm's
`VM.apply_transaction` calls `state.lock_changes()` before executing, which discards every
journal checkpoint taken earlier, so `state.revert(snapshot)` after a failure raises
"No checkpoint N was found" and the whole block was lost (the old producer then retried the
same transaction forever). A restart begins from a fresh VM on the parent's state, which
py-evm only reads; at most one restart per dropped candidate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eth.abc import BlockAPI, BlockHeaderAPI, ChainAPI, ReceiptAPI, SignedTransactionAPI
from eth_typing import Address

from ledger.chain.chainspec import GAS_TARGET


@dataclass(frozen=True)
class Candidate:
    """A transaction offered for a block, with its recovered sender."""

    tx: SignedTransactionAPI
    sender: bytes


@dataclass(frozen=True)
class Dropped:
    """A candidate that can never be included as it stands, and why."""

    tx_hash: bytes
    sender: bytes
    nonce: int
    reason: str


@dataclass(frozen=True)
class BuiltBlock:
    """An executed, unsealed block (state root computed), its receipts and the dropped candidates."""

    block: BlockAPI
    receipts: tuple[ReceiptAPI, ...]
    dropped: tuple[Dropped, ...]

    @property
    def header(self) -> BlockHeaderAPI:
        """The block's header."""
        return self.block.header


#: Answers None if `sender` may send `tx` in the block being built, else the reason it may not.
PermissionRule = Callable[[SignedTransactionAPI, bytes], "str | None"]


class _CandidateFailed(Exception):
    def __init__(self, candidate: Candidate, reason: str) -> None:
        super().__init__(reason)
        self.candidate, self.reason = candidate, reason


def build_block(
    chain: ChainAPI,
    parent: BlockHeaderAPI,
    candidates: Sequence[Candidate],
    *,
    coinbase: bytes,
    timestamp: int,
    permitted: PermissionRule,
    gas_budget: int = GAS_TARGET,
) -> BuiltBlock:
    """Execute `candidates` in order on `parent`'s state and return the block (maybe empty).

    A candidate is included while the declared gas of the block stays within `gas_budget`
    (the first one always fits, up to the gas limit). Candidates whose nonce is ahead of
    their sender's are skipped but not dropped.
    """
    dropped: list[Dropped] = []
    excluded: set[bytes] = set()
    while True:
        try:
            block, receipts, stale = _attempt(
                chain, parent, candidates, excluded, coinbase, timestamp, permitted, gas_budget
            )
        except _CandidateFailed as failed:
            tx = failed.candidate.tx
            excluded.add(tx.hash)
            dropped.append(Dropped(tx.hash, failed.candidate.sender, tx.nonce, failed.reason))
            continue
        return BuiltBlock(block, receipts, tuple(dropped + stale))


def _attempt(
    chain: ChainAPI,
    parent: BlockHeaderAPI,
    candidates: Sequence[Candidate],
    excluded: set[bytes],
    coinbase: bytes,
    timestamp: int,
    permitted: PermissionRule,
    gas_budget: int,
) -> tuple[BlockAPI, tuple[ReceiptAPI, ...], list[Dropped]]:
    header = chain.create_header_from_parent(
        parent, timestamp=max(timestamp, parent.timestamp), gas_limit=parent.gas_limit, coinbase=coinbase
    )
    vm = chain.get_vm(header)
    included: list[SignedTransactionAPI] = []
    receipts: list[ReceiptAPI] = []
    stale: list[Dropped] = []
    declared = 0
    for candidate in candidates:
        tx = candidate.tx
        if tx.hash in excluded:
            continue
        if included and declared + tx.gas > gas_budget:
            break
        expected = vm.state.get_nonce(Address(candidate.sender))
        if tx.nonce < expected:
            stale.append(Dropped(tx.hash, candidate.sender, tx.nonce, f"nonce too low: account nonce is {expected}"))
            continue
        if tx.nonce > expected:
            continue
        refusal = permitted(tx, candidate.sender)
        if refusal is not None:
            raise _CandidateFailed(candidate, refusal)
        if tx.gas > header.gas_limit - header.gas_used:
            raise _CandidateFailed(candidate, f"exceeds block gas limit: {tx.gas} > {header.gas_limit}")
        try:
            receipt, _ = vm.apply_transaction(header, tx)
        except Exception as exc:  # noqa: BLE001 — py-evm raises ValidationError and others; none may stop the block
            raise _CandidateFailed(candidate, f"invalid in block: {exc or type(exc).__name__}") from exc
        header = vm.increment_blob_gas_used(vm.add_receipt_to_header(header, receipt), tx)
        included.append(tx)
        receipts.append(receipt)
        declared += tx.gas
    block = vm.set_block_transactions_and_withdrawals(vm.get_block(), header, included, receipts)
    return vm.mine_block(block).block, tuple(receipts), stale
