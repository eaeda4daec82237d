"""Read-only execution: eth_call and gas estimation on a block's state, bounded in gas and time.

Calls run on a VM whose computations check a deadline at every jump, call and create (the
only ways a program can run long), so an infinite loop submitted through eth_call or
eth_estimateGas ends after CALL_TIME_LIMIT seconds of computation whatever gas it was given;
they are also capped at CALL_GAS_CAP, below the block gas limit. The limit counts the calling
thread's CPU time (what a hostile call burns), not wall time, so an honest call on a loaded
machine, waiting for a core or the GIL, is not cut short; wall time is still capped at
WALL_FACTOR times the limit. Block production uses the plain VM.
Reverts carry their reason: `Error(string)`, `Panic(uint256)` and every custom error of the
committed contract ABIs are decoded into the message; the raw data stays in `data`.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

from eth.abc import BlockHeaderAPI, ChainAPI, ComputationAPI, StateAPI
from eth.exceptions import Revert, VMError
from eth.vm.forks.cancun.computation import CancunComputation
from eth.vm.forks.cancun.state import CancunState
from eth.vm.spoof import SpoofTransaction
from eth_typing import Address

from ledger.chain.chainspec import CustosVM
from ledger.chain.errors import ExecutionFailed, ExecutionReverted

CALL_GAS_CAP = 25_000_000
CALL_TIME_LIMIT = 5.0
# A call's wall-clock cap, in multiples of its CPU-time limit: how long a starved call may hold a thread.
# Twice the default limit is the clients' own HTTP timeout (ledger.client.connect): past it nobody waits.
WALL_FACTOR = 2.0
# Opcodes through which a program can run for long: JUMP, JUMPI, CREATE, CALL, CALLCODE,
# DELEGATECALL, CREATE2, STATICCALL.
_GUARDED = (0x56, 0x57, 0xF0, 0xF1, 0xF2, 0xF4, 0xF5, 0xFA)
_limits = threading.local()


class CallTimeout(Exception):
    """A call ran past its deadline (deliberately not a VMError: it must abort, not halt a frame)."""


class _Guarded:
    """An opcode that first checks the calling thread's deadline."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.mnemonic = inner.mnemonic
        self.gas_cost = getattr(inner, "gas_cost", 0)

    def __call__(self, computation: ComputationAPI) -> None:
        deadline = getattr(_limits, "deadline", None)
        if deadline is not None and time.monotonic() > deadline:
            _past_deadline()
        self._inner(computation=computation)


def _past_deadline() -> None:
    """The wall deadline passed: CallTimeout if the CPU budget or the wall cap is spent, else move the
    deadline on by the CPU time left (reading the thread's CPU clock only here keeps each opcode's check
    one monotonic read)."""
    now = time.monotonic()
    cpu_left = _limits.cpu_end - time.thread_time()
    if cpu_left <= 0 or now >= _limits.wall_end:
        raise CallTimeout
    _limits.deadline = min(now + cpu_left, _limits.wall_end)


class _DeadlineComputation(CancunComputation):
    opcodes = {op: (_Guarded(fn) if op in _GUARDED else fn) for op, fn in CancunComputation.opcodes.items()}  # type: ignore[misc]  # a guarded opcode is callable like the OpcodeAPI it wraps


class _DeadlineState(CancunState):
    computation_class = _DeadlineComputation


class CallVM(CustosVM):
    """The chain's VM for eth_call/eth_estimateGas: same rules, deadline-checked computations."""

    _state_class = _DeadlineState


class Reader(Protocol):
    """What execution needs from a node or a read snapshot."""

    @property
    def chain(self) -> ChainAPI: ...

    @property
    def head(self) -> BlockHeaderAPI: ...

    @property
    def validator_address(self) -> bytes | None: ...


def pending_state(reader: Reader, parent: BlockHeaderAPI, vm_class: type[CustosVM] = CallVM) -> StateAPI:
    """State after `parent`, in the context of the block the producer would seal now.

    py-evm's own costless state stamps that block parent+1, which runs ahead of the clock;
    contracts' deadline checks must see the timestamp a real block would get.
    """
    chain = reader.chain
    header = chain.create_header_from_parent(
        parent,
        timestamp=max(int(time.time()), parent.timestamp),
        gas_limit=parent.gas_limit,
        coinbase=reader.validator_address or parent.coinbase,
    )
    if vm_class is CallVM:
        return call_vm(chain, header).state
    return vm_class(header, chain.chaindb, chain.get_vm(header).chain_context, chain.consensus_context).state  # type: ignore[attr-defined]  # py-evm's VM and Chain have these, their APIs do not declare them


def spoof_call(state: StateAPI, sender: bytes, to: bytes, data: bytes, value: int, gas: int) -> SpoofTransaction:
    """An unsigned call from `sender` at its current nonce, as eth_call runs it."""
    unsigned = CustosVM.create_unsigned_transaction(
        nonce=state.get_nonce(Address(sender)), gas_price=0, gas=gas, to=Address(to), value=value, data=data
    )
    return SpoofTransaction(unsigned, from_=sender)


def call_vm(chain: ChainAPI, header: BlockHeaderAPI) -> CustosVM:
    """A deadline-checked VM on `header`'s state (run it inside `CallDeadline(...)`)."""
    return CallVM(header, chain.chaindb, chain.get_vm(header).chain_context, chain.consensus_context)  # type: ignore[attr-defined]  # py-evm's VM and Chain have these, their APIs do not declare them


class CallDeadline:
    """Arms the calling thread's deadline for the duration of a `with` block: `seconds` of the thread's
    CPU time, and at most `wall_factor` times that of wall time."""

    def __init__(self, seconds: float, wall_factor: float = WALL_FACTOR) -> None:
        self._seconds, self._wall_factor = seconds, wall_factor

    def __enter__(self) -> None:
        now = time.monotonic()
        _limits.cpu_end = time.thread_time() + self._seconds
        _limits.wall_end = now + self._wall_factor * self._seconds
        _limits.deadline = now + self._seconds

    def __exit__(self, *exc: object) -> None:
        _limits.deadline = None


class Executor:
    """Runs calls against a header's post-state in the context of the block after it."""

    def __init__(self, reader: Reader, time_limit: float = CALL_TIME_LIMIT) -> None:
        self._reader = reader
        self._time_limit = time_limit
        self._head_state: tuple[bytes, int, StateAPI] | None = None

    def head_state(self) -> StateAPI:
        """A state on the head, reused (snapshot/revert) while the head and the clock's second last.

        Admission reads nonces and balances and calls the membership contract for every
        transaction; building a fresh state each time cost as much as the call itself.
        Only the node's writer uses it (under the node's lock).
        """
        head = self._reader.head
        now = int(time.time())
        cached = self._head_state
        if cached is None or cached[0] != head.hash or cached[1] != now:
            cached = self._head_state = (head.hash, now, pending_state(self._reader, head))
        return cached[2]

    def call(
        self,
        sender: bytes,
        to: bytes,
        data: bytes,
        value: int = 0,
        gas: int | None = None,
        header: BlockHeaderAPI | None = None,
        reuse_head: bool = False,
    ) -> bytes:
        """Execute without committing; return the output or raise ExecutionReverted/ExecutionFailed."""
        gas = min(gas or CALL_GAS_CAP, CALL_GAS_CAP)
        with CallDeadline(self._time_limit):
            try:
                if reuse_head:
                    state = self.head_state()
                    snapshot = state.snapshot()
                    call = spoof_call(state, sender, to, data, value, gas)
                    try:
                        computation = state.costless_execute_transaction(call)
                    finally:
                        state.revert(snapshot)
                else:
                    state = pending_state(self._reader, header or self._reader.head)
                    call = spoof_call(state, sender, to, data, value, gas)
                    computation = state.costless_execute_transaction(call)
            except CallTimeout:
                self._head_state = None
                raise ExecutionFailed(f"execution timed out after {self._time_limit:g} s") from None
        if computation.is_error:
            raise _failure(computation.error, computation.output)
        return bytes(computation.output)

    def estimate_gas(
        self, sender: bytes, to: bytes, data: bytes, value: int = 0, header: BlockHeaderAPI | None = None
    ) -> int:
        """The least gas that does not run out, by binary search; reverts raise like `call`."""
        at = header or self._reader.head
        state = pending_state(self._reader, at)
        tx = spoof_call(state, sender, to, data, value, min(at.gas_limit, CALL_GAS_CAP))
        with CallDeadline(self._time_limit):
            try:
                return int(self._reader.chain.gas_estimator(state, tx))  # type: ignore[attr-defined]  # py-evm's Chain has gas_estimator, ChainAPI does not declare it
            except VMError:
                pass
            except CallTimeout:
                raise ExecutionFailed(f"gas estimation timed out after {self._time_limit:g} s") from None
        # Re-run at the cap for the revert data the estimator does not keep.
        self.call(sender, to, data, value, header=at)
        raise ExecutionFailed("gas required exceeds allowance")


def revert_message(output: bytes) -> str:
    """geth's message for a revert: "execution reverted", with the decoded reason when there is one."""
    if not output:
        return "execution reverted"
    from ledger.client.revert import decode_revert

    decoded = decode_revert(bytes(output))
    if decoded.name == "Error":
        return f"execution reverted: {decoded.arguments['reason']}"
    if decoded.name == "ContractRevert":
        return "execution reverted"
    return f"execution reverted: {decoded}"


def _failure(error: VMError, output: bytes) -> ExecutionFailed:
    if isinstance(error, Revert):
        return ExecutionReverted(revert_message(output), data="0x" + bytes(output).hex())
    return ExecutionFailed(f"execution failed: {type(error).__name__}")
