"""Who may transact: the membership contract's `transactionAllowed`, or the bootstrap rule.

Permission is a block-validity rule, not only an admission filter: the producer asks again
for every transaction it puts into a block, and a node importing a block refuses it if any
transaction's sender is not allowed on the parent's state. So a member removed in block 9
cannot get a transaction into block 11, even one admitted to the pool before block 9.

Until a membership contract exists, only the spec's bootstrap account may transact (it
deploys the consortium's contracts). Once a membership contract is named — in the genesis
spec, or by `close_bootstrap` after deployment — every transaction, the bootstrap
account's included, needs `transactionAllowed(sender, target, value, gasPrice, gasLimit,
payload)` to return true on the current head state. A failing call denies (fail closed).

docs/protocol.md fixes the answer as "true iff `sender` is an active member", a function of
the membership contract's own storage. So a verdict is cached per sender for as long as the
membership contract's account (storage root, code, balance, nonce: its RLP in the state
trie) is unchanged at the head: blocks that do not touch membership cost no call at all,
and the block-time check reuses the verdicts admission already paid for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eth.abc import SignedTransactionAPI
from eth_abi import encode
from eth_utils import keccak, to_canonical_address, to_checksum_address
from trie import HexaryTrie

from ledger.chain.errors import ExecutionFailed, HistoryError, NotPermitted
from ledger.chain.pool import fee_cap
from ledger.chain.reader import MEMBERSHIP_KEY

if TYPE_CHECKING:
    from ledger.chain.node import Node

SIGNATURE = "transactionAllowed(address,address,uint256,uint256,uint256,bytes)"
SELECTOR = keccak(text=SIGNATURE)[:4]
_ZERO = b"\x00" * 20


def membership_version(node: Node, state_root: bytes) -> bytes:
    """A fingerprint of the membership contract's account (storage root, code, balance, nonce) in a state.

    Whatever the contract answers depends only on its own storage, so an answer read in one
    state holds in every state with the same fingerprint.
    """
    membership = node.membership
    if membership is None:
        return b"bootstrap"
    encoded = HexaryTrie(node.store, state_root).get(keccak(membership))
    return membership + keccak(encoded or b"")


class Permission:
    """The node's admission rule, evaluated on the head state."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self._verdicts: dict[bytes, bool] = {}
        self._verdicts_version = b""
        self._version_head = b""

    @property
    def membership(self) -> bytes | None:
        """The membership contract's address, or None while bootstrapping."""
        return self._node.membership

    def close_bootstrap(self, membership: str | bytes) -> None:
        """Name the membership contract (it must have code); from now on it alone decides."""
        address = to_canonical_address(membership)
        with self._node.lock:
            if self.membership is not None:
                raise HistoryError(f"membership is already {to_checksum_address(self.membership)}")
            if not self._node.chain.get_vm(self._node.head).state.get_code(address):
                raise HistoryError(f"no contract at {to_checksum_address(address)}")
            self._node.store[MEMBERSHIP_KEY] = address
            self._node.store.commit()
            self._version_head = b""  # the rule changed without a new head: ask again

    def allowed(self, sender: bytes, target: bytes, value: int, gas_price: int, gas: int, payload: bytes) -> bool:
        """What the membership contract answers for this transaction (False if it fails)."""
        membership = self.membership
        if membership is None:
            return sender == self._node.spec.bootstrap
        args = encode(
            ["address", "address", "uint256", "uint256", "uint256", "bytes"],
            [sender, target or _ZERO, value, gas_price, gas, payload],
        )
        try:
            output = self._node.executor.call(_ZERO, membership, SELECTOR + args, gas=1_000_000, reuse_head=True)
        except ExecutionFailed:
            return False
        return len(output) == 32 and int.from_bytes(output, "big") == 1

    def refusal(self, tx: SignedTransactionAPI, sender: bytes) -> str | None:
        """None if `sender` may send `tx` on the head state, else why not (the block-building rule)."""
        try:
            self.check(tx, sender)
        except NotPermitted as exc:
            return exc.message
        return None

    def _version(self) -> bytes:
        """What the verdicts depend on: the membership account's RLP at the head (or the bootstrap rule)."""
        return membership_version(self._node, self._node.head.state_root)

    def check(self, tx: SignedTransactionAPI, sender: bytes) -> None:
        """Raise NotPermitted unless `sender` may send `tx`."""
        head = self._node.head.hash
        if head != self._version_head:
            version, self._version_head = self._version(), head
            if version != self._verdicts_version:
                self._verdicts, self._verdicts_version = {}, version
        verdict = self._verdicts.get(sender)
        if verdict is None:
            verdict = self._verdicts[sender] = self.allowed(sender, tx.to, tx.value, fee_cap(tx), tx.gas, tx.data)
        if verdict:
            return
        who = to_checksum_address(sender)
        if self.membership is None:
            raise NotPermitted(
                f"sender {who} is not permitted: the chain is bootstrapping and only its bootstrap account may transact"
            )
        raise NotPermitted(f"sender {who} is not a member of the consortium: transaction not permitted")
