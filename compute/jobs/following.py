"""The machinery under a job runner: following job events, a worker thread per live job, backoff.

`ChainFollower` reads the chain's job events and hands each job that involves the runner's
party (compute/jobs/runner.py) to `JobWorkers`. A worker advances its job whenever it is woken (an event
about the job was mined) or when the job's next chain-time step is due (a deadline, the
challenge or attestation window), so one long protocol run holds only its own thread while
the consent, attestation and settlement of other jobs go on. A worker whose step fails (the
node went away, a transaction timed out) reports it and retries after a capped backoff; it
ends only when its job is final for this party or the runner stops.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from ledger.bindings.base import ContractEvent
from ledger.errors import LedgerError

# Events after which a job is final: the start-up scan does not look at these jobs again.
FINAL_EVENTS = {"JobFinalized", "JobCancelled", "JobAborted", "DisputeResolved", "DisputeDefaulted"}


class JobEvents(Protocol):
    """Where the job events come from (the JobLedger binding)."""

    def logs(self, from_block: int, to_block: int) -> list[ContractEvent]:
        """The contract's decoded events in blocks `from_block`..`to_block`."""
        ...


BACKOFF_CAP = 10.0  # seconds: the longest a worker waits before it looks at the node again


class Backoff:
    """Delays between retries: doubling from `first` up to `cap` seconds, back to `first` after a success."""

    def __init__(self, first: float = 0.25, cap: float = BACKOFF_CAP) -> None:
        self.first, self.cap = first, cap
        self._delay = first
        self.failures = 0  # consecutive failures (0: the last attempt succeeded)

    def failed(self) -> float:
        """Record a failure; the seconds to wait before the next attempt."""
        delay, self._delay = self._delay, min(self._delay * 2, self.cap)
        self.failures += 1
        return delay

    def succeeded(self) -> None:
        """Record a success: the next failure waits `first` again."""
        self._delay, self.failures = self.first, 0


Advance = Callable[[int], float | None]  # job id -> seconds until its next time-based step, None once done
OnError = Callable[[int, Exception, int], None]  # job id, the error, consecutive failures


class JobWorker:
    """One live job's thread."""

    def __init__(self, job_id: int, advance: Advance, on_error: OnError, stop: threading.Event, idle: float) -> None:
        self.job_id = job_id
        self._advance, self._on_error, self._stop, self._idle = advance, on_error, stop, idle
        self._wake = threading.Event()
        self.thread = threading.Thread(target=self._loop, name=f"custos-job-{job_id}", daemon=True)

    def wake(self) -> None:
        """Advance the job now (an event about it was mined)."""
        self._wake.set()

    def _loop(self) -> None:
        backoff = Backoff()
        while not self._stop.is_set():
            self._wake.clear()  # before the step: an event mined during it wakes the next wait at once
            try:
                due = self._advance(self.job_id)
            except Exception as exc:  # node away, transaction timed out, or a bug in this job: the others go on
                self._on_error(self.job_id, exc, backoff.failures + 1)
                self._stop.wait(backoff.failed())
                continue
            backoff.succeeded()
            if due is None:
                return
            self._wake.wait(min(max(due, 0.05), self._idle))


class JobWorkers:
    """The workers of the live jobs of one runner."""

    def __init__(self, advance: Advance, on_error: OnError, stop: threading.Event, idle: float = 5.0) -> None:
        self._advance, self._on_error, self._stop, self._idle = advance, on_error, stop, idle
        self._workers: dict[int, JobWorker] = {}
        self._lock = threading.Lock()

    def follow(self, job_id: int) -> None:
        """Start a worker for `job_id` unless one is running."""
        with self._lock:
            current = self._workers.get(job_id)
            if current is not None and current.thread.is_alive():
                current.wake()
                return
            worker = JobWorker(job_id, self._advance, self._on_error, self._stop, self._idle)
            self._workers[job_id] = worker
            worker.thread.start()

    def wake(self, job_id: int) -> None:
        """Wake the worker of `job_id`, if there is one."""
        with self._lock:
            worker = self._workers.get(job_id)
        if worker is not None:
            worker.wake()

    def live(self) -> list[int]:
        """The jobs whose workers are still running (finished ones are forgotten)."""
        with self._lock:
            for job_id in [j for j, w in self._workers.items() if not w.thread.is_alive()]:
                del self._workers[job_id]
            return sorted(self._workers)

    def join(self, timeout: float) -> list[int]:
        """Wait up to `timeout` seconds in all for the workers to end (set the stop event first); who did not."""
        with self._lock:
            workers = list(self._workers.values())
        for worker in workers:
            worker.wake()
            worker.thread.join(timeout=timeout / max(len(workers), 1))
        return [w.job_id for w in workers if w.thread.is_alive()]


class ChainFollower:
    """Reads the JobLedger's events and keeps a worker running for each live job that involves this party.

    On start-up (and after the node came back before the first scan got through) one ranged scan
    of every job event finds the jobs opened and not yet final; from then on only the events of
    new blocks are read: a JobOpened starts a worker if the job involves this party, any other
    event about a job wakes its worker.
    """

    def __init__(
        self,
        jobs: JobEvents,
        head: Callable[[], int],
        involves: Callable[[int], bool],
        workers: JobWorkers,
        report: Callable[[str, str], None],
    ) -> None:
        self._jobs, self._head, self._involves, self._workers, self._report = jobs, head, involves, workers, report

    def run(self, stop: threading.Event, start: Callable[[], None], poll: float, only: int | None) -> None:
        """Call `start`, scan, then follow until `stop` (with `only`: until that job's worker is done).

        Any ledger error (the node went away) is reported once, waited out with a capped backoff, and the
        step retried; it never ends the loop.
        """
        backoff, cursor = Backoff(), -1
        while not stop.is_set():
            try:
                if cursor < 0:
                    start()
                    cursor = self._catch_up(only)
                else:
                    cursor = self._follow(cursor, only)
            except LedgerError as exc:  # the node went away (or refused us for now): wait, then resume
                if backoff.failures == 0:
                    self._report("node-unreachable", str(exc))
                stop.wait(backoff.failed())
                continue
            if backoff.failures:
                self._report("node-back", f"after {backoff.failures} failed attempts")
            backoff.succeeded()
            if only is not None and not self._workers.live():
                return
            stop.wait(poll)

    def _catch_up(self, only: int | None) -> int:
        """Start a worker for every job not yet final that involves this party; the last block read."""
        head = self._head()
        if only is not None:
            self._workers.follow(only)
            return head
        opened, final = set(), set()
        for event in self._jobs.logs(0, head):
            if event.name == "JobOpened":
                opened.add(event.args["jobId"])
            elif event.name in FINAL_EVENTS:
                final.add(event.args["jobId"])
        for job_id in sorted(opened - final):
            if self._involves(job_id):
                self._workers.follow(job_id)
        return head

    def _follow(self, cursor: int, only: int | None) -> int:
        """Read the job events mined since `cursor`: start workers for new jobs, wake those of the others."""
        head = self._head()
        if head <= cursor:
            return cursor
        for event in self._jobs.logs(cursor + 1, head):
            job_id = event.args.get("jobId")
            if job_id is None or (only is not None and job_id != only):
                continue
            if event.name == "JobOpened" and only is None:
                if self._involves(job_id):
                    self._workers.follow(job_id)
            else:
                self._workers.wake(job_id)
        return head
