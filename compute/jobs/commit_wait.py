"""How long a party that finished its run waits for the commit before it aborts the job.

Only the first compute party commits. If it is gone after the run (crashed, its link down,
its software withholding the commit), every other party holds a finished run of a job that stays
Ready until its deadline, which may be hours away. So each party that finished its run gives the
commit `protocol_timeout` seconds, counted from its first look at the Ready job after its run,
and then aborts the job with `PROTOCOL no commit` (docs/protocol.md, "Runner abort reasons"). A
commit that lands first wins (the abort then reverts); an abort that lands first ends the job.

While the chain node is away nobody can commit, so a node outage starts the wait again once the
node answers, with the workers' backoff cap added: the committer may notice the node is back
that much later than this party does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from compute.jobs.following import BACKOFF_CAP


class CommitWait:
    """Per job: the monotonic time by which a commit must be on chain, once this party finished its run."""

    def __init__(self, timeout: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout, self._clock = timeout, clock
        self._until: dict[int, float] = {}
        self._grace: set[int] = set()  # jobs whose wait restarts after a node outage
        self._lock = threading.Lock()  # each job's worker is its own thread

    def left(self, job_id: int) -> float:
        """Seconds left for the commit of `job_id` (the wait starts at the first call); <= 0: time is up."""
        now = self._clock()
        with self._lock:
            if job_id not in self._until:
                extra = BACKOFF_CAP if job_id in self._grace else 0.0
                self._until[job_id] = now + self.timeout + extra
            return self._until[job_id] - now

    def node_away(self, job_id: int) -> None:
        """The node did not answer a look at `job_id`: once it answers again, the wait starts over."""
        with self._lock:
            if self._until.pop(job_id, None) is not None:
                self._grace.add(job_id)

    def forget(self, job_id: int) -> None:
        """Let go of a job that is committed or final."""
        with self._lock:
            self._until.pop(job_id, None)
            self._grace.discard(job_id)
