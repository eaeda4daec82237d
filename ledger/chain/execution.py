"""Read-only execution: eth_call and gas estimation on a block's state, reverts with their data."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eth.abc import BlockHeaderAPI
from eth.exceptions import Revert, VMError
from eth.vm.spoof import SpoofTransaction

from ledger.chain.errors import ExecutionFailed, ExecutionReverted

if TYPE_CHECKING:
    from ledger.chain.node import Node

CALL_GAS_CAP = 50_000_000


class Executor:
    """Runs calls against a header's post-state in the context of the block after it."""

    def __init__(self, node: Node) -> None:
        self._node = node

    def _spoof(self, state, sender: bytes, to: bytes, data: bytes, value: int, gas: int):  # type: ignore[no-untyped-def]
        vm = self._node.chain.get_vm(self._node.head)
        unsigned = vm.create_unsigned_transaction(
            nonce=state.get_nonce(sender), gas_price=0, gas=gas, to=to, value=value, data=data
        )
        return SpoofTransaction(unsigned, from_=sender)

    def call(self, sender: bytes, to: bytes, data: bytes, value: int = 0, gas: int | None = None,
             header: BlockHeaderAPI | None = None) -> bytes:
        """Execute without committing; return the output or raise ExecutionReverted/ExecutionFailed."""
        node = self._node
        with node.lock:
            at = header or node.head
            gas = min(gas or CALL_GAS_CAP, CALL_GAS_CAP)
            with node.chain.get_vm(at).in_costless_state() as state:
                computation = state.costless_execute_transaction(self._spoof(state, sender, to, data, value, gas))
            if computation.is_error:
                raise _failure(computation.error, computation.output)
            return computation.output

    def estimate_gas(self, sender: bytes, to: bytes, data: bytes, value: int = 0,
                     header: BlockHeaderAPI | None = None) -> int:
        """The least gas that does not run out, by binary search; reverts raise like `call`."""
        node = self._node
        with node.lock:
            at = header or node.head
            with node.chain.get_vm(at).in_costless_state() as state:
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
