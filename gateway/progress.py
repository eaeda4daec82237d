"""Live progress of running jobs: an in-process bus the job runner publishes to.

Publishing is thread-safe (the job runner runs in worker threads); each subscriber gets its
own asyncio queue on the server's event loop. The bus keeps each job's recent events so that
a subscriber arriving late first sees what already happened; a terminal event
(`finished`, `failed`) ends every stream of that job.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

TERMINAL_STAGES = frozenset({"finished", "failed"})
_HISTORY = 256


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a running job: which stage, how far, and a line for a person."""

    job_id: int
    stage: str
    message: str
    fraction: float = 0.0
    at: float = field(default_factory=time.time)

    def as_dict(self) -> dict[str, object]:
        """The event as JSON-ready fields."""
        return asdict(self)

    @property
    def terminal(self) -> bool:
        """Whether no event follows this one."""
        return self.stage in TERMINAL_STAGES


class ProgressBus:
    """Fan-out of job progress events to any number of live subscribers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._history: dict[int, deque[ProgressEvent]] = {}
        self._subscribers: dict[int, list[tuple[asyncio.AbstractEventLoop, asyncio.Queue]]] = {}

    def publish(self, event: ProgressEvent) -> None:
        """Record an event and hand it to every subscriber of its job; callable from any thread."""
        with self._lock:
            self._history.setdefault(event.job_id, deque(maxlen=_HISTORY)).append(event)
            targets = list(self._subscribers.get(event.job_id, ()))
        for loop, queue in targets:
            loop.call_soon_threadsafe(queue.put_nowait, event)

    def history(self, job_id: int) -> list[ProgressEvent]:
        """The job's recent events, oldest first."""
        with self._lock:
            return list(self._history.get(job_id, ()))

    async def subscribe(self, job_id: int) -> AsyncIterator[ProgressEvent]:
        """Past events of the job, then live ones, until a terminal event."""
        queue: asyncio.Queue[ProgressEvent] = asyncio.Queue()
        entry = (asyncio.get_running_loop(), queue)
        with self._lock:
            past = list(self._history.get(job_id, ()))
            self._subscribers.setdefault(job_id, []).append(entry)
        try:
            for event in past:
                yield event
                if event.terminal:
                    return
            while True:
                event = await queue.get()
                yield event
                if event.terminal:
                    return
        finally:
            with self._lock:
                self._subscribers[job_id].remove(entry)


# How far a job is after each step the job runner reports (compute.jobs.runner.Progress.stage).
_RUNNER_STAGES: dict[str, tuple[str, float]] = {
    "consent": ("consent", 0.15),
    "protocol": ("running", 0.3),
    "protocol-done": ("running", 0.6),
    "commit": ("committed", 0.7),
    "attest": ("attested", 0.85),
    "finalize": ("finished", 1.0),
    "dispute": ("failed", 1.0),
    "abort": ("failed", 1.0),
    "cancel": ("failed", 1.0),
    "protocol-failed": ("failed", 1.0),
    "data-unreadable": ("failed", 1.0),
}


def runner_listener(bus: ProgressBus) -> Callable[[Any], None]:
    """An `on_progress` callback for the job runner that publishes its steps on `bus`."""

    def publish(step: Any) -> None:
        stage, fraction = _RUNNER_STAGES.get(step.stage, ("running", -1.0))
        if fraction < 0:  # an unmapped or skipped step: keep the last known fraction
            past = bus.history(step.job_id)
            fraction = past[-1].fraction if past else 0.0
        message = f"{step.party}: {step.stage}" + (f" ({step.detail})" if step.detail else "")
        bus.publish(ProgressEvent(step.job_id, stage, message, fraction))

    return publish
