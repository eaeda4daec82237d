"""The proposer's batching rule: wait for as many transactions as the last final block held, never past gather_max."""

from __future__ import annotations

from ledger.consensus.timing import Gather, Timing

TIMING = Timing(gather_quiet=0.01, gather_max=0.1)


class Clock:
    """The test's clock: it moves only when told."""

    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_a_lone_transaction_after_a_lone_block_waits_only_the_quiet_window() -> None:
    clock = Clock()
    gather = Gather(TIMING, clock)
    assert gather.gathering(1)
    clock.now += 0.005
    assert gather.gathering(1)
    clock.now += 0.006
    assert not gather.gathering(1)


def test_after_a_block_of_eight_it_waits_for_eight_while_they_keep_coming() -> None:
    clock = Clock()
    gather = Gather(TIMING, clock)
    gather.final(8)
    for size in range(1, 8):
        assert gather.gathering(size), f"built with {size} of the 8 expected"
        clock.now += 0.012  # slower than the quiet window: the expected count holds the block open
    assert gather.gathering(8), "built with no quiet window after the eighth arrived"
    clock.now += 0.011
    assert not gather.gathering(8)


def test_the_wait_never_exceeds_gather_max_when_fewer_come() -> None:
    clock = Clock()
    gather = Gather(TIMING, clock)
    gather.final(8)
    assert gather.gathering(3)
    clock.now += 0.099
    assert gather.gathering(3)
    clock.now += 0.002
    assert not gather.gathering(3)


def test_a_burst_larger_than_expected_is_built_once_quiet() -> None:
    clock = Clock()
    gather = Gather(TIMING, clock)
    gather.final(2)
    assert gather.gathering(5)
    clock.now += 0.011
    assert not gather.gathering(5)


def test_after_building_the_next_block_gathers_afresh() -> None:
    clock = Clock()
    gather = Gather(TIMING, clock)
    gather.final(4)
    assert gather.gathering(4)
    clock.now += 0.2
    assert not gather.gathering(4)
    gather.built()
    gather.final(0)  # an empty count still expects one transaction
    assert gather.gathering(1), "the new block reused the old block's start time"
    clock.now += 0.011
    assert not gather.gathering(1)
