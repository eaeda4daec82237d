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
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field

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
