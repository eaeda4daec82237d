"""Admission: whether a signed raw transaction may enter the pool, before permission is asked.

The checks see the head state and what the sender already has pending: the nonce must
follow the sender's pending run (at most MAX_NONCE_GAP ahead), and the balance must cover
this transaction's gas × fee cap + value on top of everything its pending transactions can
spend. (Checking each transaction alone let two transfers of 60% of a balance in, and the
second then failed inside a block.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eth.abc import SignedTransactionAPI
from eth_typing import Address

from ledger.chain.chainspec import CustosVM
from ledger.chain.errors import InvalidTx, TxRejected
from ledger.chain.pool import MAX_NONCE_GAP, fee_cap

if TYPE_CHECKING:
    from ledger.chain.node import Node


def decode_raw(raw: bytes, chain_id: int) -> SignedTransactionAPI:
    """Decode and check a signed raw transaction for chain `chain_id` (raises InvalidTx)."""
    try:
        tx = CustosVM.get_transaction_builder().decode(raw)
        tx.check_signature_validity()
        sender = tx.sender
    except Exception as exc:  # noqa: BLE001 — py-evm raises many types for bad bytes
        raise InvalidTx(f"invalid raw transaction: {exc or type(exc).__name__}") from exc
    if getattr(tx, "type_id", None) == 3:
        raise InvalidTx("blob transactions are not supported")
    if tx.chain_id is None:
        raise InvalidTx("transaction has no chain id (pre-EIP-155): replayable, not accepted")
    if tx.chain_id != chain_id:
        raise InvalidTx(f"wrong chain id {tx.chain_id}: this chain is {chain_id}")
    del sender
    return tx


def check_against_state(node: Node, tx: SignedTransactionAPI, sender: bytes) -> None:
    """Raise TxRejected unless `tx` fits the head state and `sender`'s pending transactions."""
    state = node.executor.head_state()
    nonce = state.get_nonce(Address(sender))
    if tx.nonce < nonce:
        raise TxRejected(f"nonce too low: next nonce {nonce}, tx nonce {tx.nonce}")
    if node.pool.has_nonce(sender, tx.nonce):
        raise TxRejected(f"replacement transaction not supported: nonce {tx.nonce} is already pending")
    expected = node.pool.next_nonce(sender, nonce)
    if tx.nonce > expected + MAX_NONCE_GAP:
        raise TxRejected(f"nonce too high: next nonce {expected}, tx nonce {tx.nonce}")
    if tx.gas > node.head.gas_limit:
        raise TxRejected(f"exceeds block gas limit: {tx.gas} > {node.head.gas_limit}")
    if tx.gas < tx.intrinsic_gas:
        raise TxRejected(f"intrinsic gas too low: {tx.gas} < {tx.intrinsic_gas}")
    cost = tx.gas * fee_cap(tx) + tx.value
    pending = node.pool.pending_cost(sender)
    balance = state.get_balance(Address(sender))
    if balance < pending + cost:
        raise TxRejected(
            f"insufficient funds for gas * price + value: balance {balance}, cost {cost}, "
            f"already pending from this sender {pending}"
        )
