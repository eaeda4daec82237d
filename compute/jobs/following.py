"""The machinery under a job runner: a worker thread per live job, and backoff while the node is away.

The runner follows the chain's job events (compute/jobs/runner.py) and hands each job that
involves its party to `JobWorkers`. A worker advances its job whenever it is woken (an event
about the job was mined) or when the job's next chain-time step is due (a deadline, the
challenge or attestation window), so one long protocol run holds only its own thread while
the consent, attestation and settlement of other jobs go on. A worker whose step fails (the
node went away, a transaction timed out) reports it and retries after a capped backoff; it
ends only when its job is final for this party or the runner stops.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Backoff:
    """Delays between retries: doubling from `first` up to `cap` seconds, back to `first` after a success."""

    def __init__(self, first: float = 0.25, cap: float = 10.0) -> None:
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
