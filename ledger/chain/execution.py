"""Read-only execution: eth_call and gas estimation on a block's state, reverts with their data."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from eth.abc import BlockHeaderAPI, StateAPI
from eth.exceptions import Revert, VMError
from eth.vm.spoof import SpoofTransaction

from ledger.chain.chainspec import CustosVM
from ledger.chain.errors import ExecutionFailed, ExecutionReverted

if TYPE_CHECKING:
    from ledger.chain.node import Node

CALL_GAS_CAP = 50_000_000


class Executor:
    """Runs calls against a header's post-state in the context of the block after it."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self._head_state: tuple[bytes, int, StateAPI] | None = None

    def head_state(self) -> StateAPI:
        """A state on the head, reused (snapshot/revert) while the head and the clock's second last.

        Admission reads nonces and balances and calls the membership contract for every
        transaction; building a fresh state each time cost as much as the call itself.
        Renewed when the second changes, so calls always see the timestamp a block sealed
        now would get.
        """
        head = self._node.head
        now = int(time.time())
        cached = self._head_state
        if cached is None or cached[0] != head.hash or cached[1] != now:
            cached = self._head_state = (head.hash, now, self._pending_state(head))
        return cached[2]

    def _pending_state(self, parent: BlockHeaderAPI) -> StateAPI:
        """State after `parent`, in the context of the block the producer would seal now.

        py-evm's own costless state stamps that block parent+1, which runs ahead of the
        clock; contracts' deadline checks must see the timestamp a real block would get.
        """
        chain = self._node.chain
        header = chain.create_header_from_parent(
            parent,
            timestamp=max(int(time.time()), parent.timestamp),
            gas_limit=parent.gas_limit,
            coinbase=self._node.validator_address or parent.coinbase,
        )
        # Calls are free whatever the base fee (py-evm's costless state does the same).
        return chain.get_vm(header.copy(base_fee_per_gas=0)).state

    @staticmethod
    def _spoof(state: StateAPI, sender: bytes, to: bytes, data: bytes, value: int, gas: int) -> SpoofTransaction:
        unsigned = CustosVM.create_unsigned_transaction(
            nonce=state.get_nonce(sender), gas_price=0, gas=gas, to=to, value=value, data=data
        )
        return SpoofTransaction(unsigned, from_=sender)

    def call(
        self,
        sender: bytes,
        to: bytes,
        data: bytes,
        value: int = 0,
        gas: int | None = None,
        header: BlockHeaderAPI | None = None,
    ) -> bytes:
        """Execute without committing; return the output or raise ExecutionReverted/ExecutionFailed."""
        node = self._node
        with node.lock:
            gas = min(gas or CALL_GAS_CAP, CALL_GAS_CAP)
            if header is None or header.hash == node.head.hash:
                state = self.head_state()
                snapshot = state.snapshot()
                try:
                    computation = state.costless_execute_transaction(self._spoof(state, sender, to, data, value, gas))
                finally:
                    state.revert(snapshot)
            else:
                state = self._pending_state(header)
                computation = state.costless_execute_transaction(self._spoof(state, sender, to, data, value, gas))
            if computation.is_error:
                raise _failure(computation.error, computation.output)
            return computation.output

    def estimate_gas(
        self, sender: bytes, to: bytes, data: bytes, value: int = 0, header: BlockHeaderAPI | None = None
    ) -> int:
        """The least gas that does not run out, by binary search; reverts raise like `call`."""
        node = self._node
        with node.lock:
            at = header or node.head
            state = self._pending_state(at)
            tx = self._spoof(state, sender, to, data, value, min(at.gas_limit, CALL_GAS_CAP))
            try:
                return node.chain.gas_estimator(state, tx)
            except VMError:
                pass
            # Re-run at the cap for the revert data the estimator does not keep.
            self.call(sender, to, data, value, header=at)
            raise ExecutionFailed("gas required exceeds allowance")


def _failure(error: VMError, output: bytes) -> ExecutionFailed:
    if isinstance(error, Revert):
        return ExecutionReverted("execution reverted", data="0x" + bytes(output).hex())
    return ExecutionFailed(f"execution failed: {type(error).__name__}")
