"""The eth_call / eth_estimateGas limit counts the calling thread's CPU time, with a wall-clock cap.

A call waiting for a core on a loaded machine is not cut short (the flake where an honest gas
estimation "timed out after 5 s" under CI load); a call that burns its CPU budget, or sits past
the wall cap, still ends.
"""

from __future__ import annotations

import time

import pytest
from eth.abc import ComputationAPI

from ledger.chain.execution import CallDeadline, CallTimeout, _Guarded


class _Opcode:
    """The opcode a guard wraps: counts how often it ran."""

    mnemonic = "JUMP"

    def __init__(self) -> None:
        self.runs = 0

    def __call__(self, computation: ComputationAPI) -> None:
        self.runs += 1


def _burn_cpu(seconds: float) -> None:
    start = time.thread_time()
    while time.thread_time() - start < seconds:
        pass


def test_a_call_starved_of_the_cpu_past_its_wall_deadline_runs_until_its_cpu_budget_is_spent() -> None:
    inner = _Opcode()
    guard = _Guarded(inner)
    with CallDeadline(0.3, wall_factor=100):  # a wall cap far off: only the CPU budget is tested here
        time.sleep(0.5)  # off the CPU, as a thread waiting for a core is: wall time passes, CPU time does not
        guard(None)  # type: ignore[arg-type]  # the counting opcode ignores its computation
        assert inner.runs == 1
        _burn_cpu(0.35)  # a hostile loop spends the budget
        with pytest.raises(CallTimeout):
            guard(None)  # type: ignore[arg-type]  # the counting opcode ignores its computation
    assert inner.runs == 1


def test_a_call_past_its_wall_cap_ends_even_with_cpu_budget_left() -> None:
    inner = _Opcode()
    guard = _Guarded(inner)
    with CallDeadline(0.05, wall_factor=2):
        time.sleep(0.2)  # off the CPU for longer than the wall cap (0.1 s)
        with pytest.raises(CallTimeout):
            guard(None)  # type: ignore[arg-type]  # the counting opcode ignores its computation
    assert inner.runs == 0
