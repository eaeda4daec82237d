"""CommitWait: how long a party that finished its run gives the commit, on a fake clock (the only fake)."""

from __future__ import annotations

from compute.jobs.commit_wait import CommitWait
from compute.jobs.following import BACKOFF_CAP


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_wait_starts_at_the_first_look_and_runs_out_after_the_timeout() -> None:
    clock = Clock()
    wait = CommitWait(8.0, clock)
    assert wait.left(3) == 8.0
    clock.now += 5
    assert wait.left(3) == 3.0  # counted from the first look, not restarted by later ones
    clock.now += 3
    assert wait.left(3) <= 0
    assert wait.left(4) == 8.0  # each job has its own wait


def test_a_node_outage_restarts_the_wait_with_the_backoff_cap_added_and_forget_clears_it() -> None:
    clock = Clock()
    wait = CommitWait(8.0, clock)
    wait.left(3)
    clock.now += 7
    wait.node_away(3)  # nobody could commit meanwhile
    clock.now += 60
    assert wait.left(3) == 8.0 + BACKOFF_CAP  # the committer may notice the node is back up to a cap later
    wait.forget(3)
    assert wait.left(3) == 8.0
    wait.node_away(5)  # a job whose wait had not started is not given a grace it never needed
    assert wait.left(5) == 8.0
