"""The proposer's batching rule: wait for the transactions in flight at the last final block, never past gather_max."""

from __future__ import annotations

from ledger.chain.chainspec import GAS_TARGET
from ledger.consensus.timing import Gather, Timing

TIMING = Timing(gather_quiet=0.01, gather_max=0.1)
GAS = 150_000  # declared per transaction


class Clock:
    """The test's clock: it moves only when told."""

    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def _gathering(gather: Gather, size: int) -> bool:
    return gather.gathering(size, size * GAS)


def test_a_lone_transaction_after_a_lone_block_waits_only_the_quiet_window() -> None:
    clock = Clock()
    gather = Gather(TIMING, clock)
    assert _gathering(gather, 1)
    clock.now += 0.005
    assert _gathering(gather, 1)
    clock.now += 0.006
    assert not _gathering(gather, 1)


def test_after_a_block_of_six_with_two_waiting_it_waits_for_all_eight() -> None:
    clock = Clock()
    gather = Gather(TIMING, clock)
    gather.final(6, waiting=2)
    for size in range(2, 8):
        assert _gathering(gather, size), f"built with {size} of the 8 in flight"
        clock.now += 0.012  # slower than the quiet window: the expected count holds the block open
    assert _gathering(gather, 8), "built with no quiet window after the eighth arrived"
    clock.now += 0.011
    assert not _gathering(gather, 8)


def test_the_wait_never_exceeds_gather_max_when_fewer_come() -> None:
    clock = Clock()
    gather = Gather(TIMING, clock)
    gather.final(8, waiting=0)
    assert _gathering(gather, 3)
    clock.now += 0.099
    assert _gathering(gather, 3)
    clock.now += 0.002
    assert not _gathering(gather, 3)


def test_a_pool_that_fills_a_block_is_built_once_quiet_whatever_was_expected() -> None:
    clock = Clock()
    gather = Gather(TIMING, clock)
    gather.final(40, waiting=1000)  # a backlog: more than one block can take
    assert gather.gathering(900, GAS_TARGET)
    clock.now += 0.011
    assert not gather.gathering(900, GAS_TARGET)


def test_a_burst_larger_than_expected_is_built_once_quiet() -> None:
    clock = Clock()
    gather = Gather(TIMING, clock)
    gather.final(2, waiting=0)
    assert _gathering(gather, 5)
    clock.now += 0.011
    assert not _gathering(gather, 5)


def test_after_building_the_next_block_gathers_afresh() -> None:
    clock = Clock()
    gather = Gather(TIMING, clock)
    gather.final(4, waiting=0)
    assert _gathering(gather, 4)
    clock.now += 0.2
    assert not _gathering(gather, 4)
    gather.built()
    gather.final(0, waiting=0)  # an empty count still expects one transaction
    assert _gathering(gather, 1), "the new block reused the old block's start time"
    clock.now += 0.011
    assert not _gathering(gather, 1)
