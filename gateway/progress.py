"""Live progress of running jobs: an in-process bus the job runner publishes to.

Publishing is thread-safe (the job runner runs in worker threads); each subscriber gets its
own bounded asyncio queue on the server's event loop. Every event of a job gets the next
sequence number (`seq`, the SSE event id), and the bus keeps each job's recent events, so a
subscriber arriving late, or reconnecting with `Last-Event-ID`, first sees what it missed.
A subscriber that falls `QUEUE_SIZE` events behind is cut off rather than buffered without
bound; its client reconnects and catches up from the history. A terminal event (`finished`,
`failed`) ends every stream of that job.

Per-round progress: a runner step `round` with detail `"k/n key=value ..."` (e.g.
`"3/10 loss=0.412 auc=0.781 eta_s=12.5"`, `compute.rounds.RoundReport.detail`) moves the
fraction through the protocol's share (0.3 → 0.6), carries its metrics, and an ETA: the
role's `eta_s` if given, else one from the rounds done since the run began.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field

from compute.jobs.runner import Progress

TERMINAL_STAGES = frozenset({"finished", "failed"})
_HISTORY = 256
QUEUE_SIZE = 256


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a running job: which stage, how far, and a line for a person."""

    job_id: int
    stage: str
    message: str
    fraction: float = 0.0
    at: float = field(default_factory=time.time)
    seq: int = 0
    round: int | None = None
    rounds: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    eta_seconds: float | None = None
    party: str = ""  # who reported it: the runner's organisation
    step: str = ""  # the runner's own step (consent, protocol, round, commit, attest, finalize, abort, ...)

    def as_dict(self) -> dict[str, object]:
        """The event as JSON-ready fields."""
        return asdict(self)

    @property
    def terminal(self) -> bool:
        """Whether no event follows this one."""
        return self.stage in TERMINAL_STAGES


@dataclass
class _Subscriber:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[ProgressEvent | None]  # None: the bus closed
    overflowed: bool = False
    closed: bool = False

    def offer(self, event: ProgressEvent) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(asyncio.QueueFull):  # its reader is behind: it sees `closed` at its next event
            self.queue.put_nowait(None)


class ProgressBus:
    """Fan-out of job progress events to any number of live subscribers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._history: dict[int, deque[ProgressEvent]] = {}
        self._seq: dict[int, int] = {}
        self._subscribers: dict[int, list[_Subscriber]] = {}
        self._closed = False

    def publish(self, event: ProgressEvent) -> ProgressEvent:
        """Number, record and fan out an event; callable from any thread. The event as numbered."""
        with self._lock:
            self._seq[event.job_id] = self._seq.get(event.job_id, 0) + 1
            event = dataclasses.replace(event, seq=self._seq[event.job_id])
            self._history.setdefault(event.job_id, deque(maxlen=_HISTORY)).append(event)
            targets = list(self._subscribers.get(event.job_id, ()))
        for subscriber in targets:
            subscriber.loop.call_soon_threadsafe(subscriber.offer, event)
        return event

    def history(self, job_id: int) -> list[ProgressEvent]:
        """The job's recent events, oldest first."""
        with self._lock:
            return list(self._history.get(job_id, ()))

    def subscribers(self, job_id: int) -> int:
        """How many streams follow the job now."""
        with self._lock:
            return len(self._subscribers.get(job_id, ()))

    def close(self) -> None:
        """End every live stream now and any later one after its history (the gateway is shutting down:
        a stream stays open while its job runs, which would hold the server's graceful shutdown)."""
        with self._lock:
            self._closed = True
            targets = [s for subscribers in self._subscribers.values() for s in subscribers]
        for subscriber in targets:
            subscriber.loop.call_soon_threadsafe(subscriber.close)

    async def subscribe(
        self, job_id: int, after: int = 0, idle: float | None = None
    ) -> AsyncIterator[ProgressEvent | None]:
        """Past events after sequence `after`, then live ones, until a terminal event.

        With `idle`, yields None whenever `idle` seconds pass without an event (a heartbeat's
        chance). Ends early, without a terminal event, when this subscriber falls too far behind
        or the bus closes (`close`); its client reconnects, to this gateway's next run or another.
        """
        subscriber = _Subscriber(asyncio.get_running_loop(), asyncio.Queue(QUEUE_SIZE))
        with self._lock:
            past = [e for e in self._history.get(job_id, ()) if e.seq > after]
            self._subscribers.setdefault(job_id, []).append(subscriber)
            subscriber.closed = self._closed
        try:
            for event in past:
                yield event
                if event.terminal:
                    return
            last = past[-1].seq if past else after
            while not subscriber.overflowed and not subscriber.closed:
                try:
                    live = await asyncio.wait_for(subscriber.queue.get(), idle)
                except TimeoutError:
                    yield None
                    continue
                if live is None:
                    return
                if live.seq <= last:  # published between the history snapshot and the subscription
                    continue
                last = live.seq
                yield live
                if live.terminal:
                    return
        finally:
            with self._lock:
                self._subscribers[job_id].remove(subscriber)


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
ETA_KEY = "eta_s"  # a round detail's `eta_s=…`: seconds left, as the training role estimates them
_ROUND = re.compile(r"^\s*(\d+)\s*/\s*(\d+)")
_METRIC = re.compile(r"([A-Za-z_][\w-]*)=(-?\d+(?:\.\d+)?(?:[eE]-?\d+)?)")


def _round_event(bus: ProgressBus, step: Progress, message: str) -> ProgressEvent | None:
    found = _ROUND.match(step.detail or "")
    if found is None or int(found.group(2)) == 0:
        return None
    done, total = int(found.group(1)), int(found.group(2))
    metrics = {k: float(v) for k, v in _METRIC.findall(step.detail)}
    eta = metrics.pop(ETA_KEY, None)  # the role's own estimate, from its rounds alone
    if eta is None:  # else from the rounds done since the run began (set-up included, so on the high side)
        started = next((e.at for e in bus.history(step.job_id) if e.stage == "running"), None)
        eta = (time.time() - started) / done * (total - done) if started is not None and done else None
    fraction = round(0.3 + 0.3 * min(done, total) / total, 4)
    return ProgressEvent(
        step.job_id,
        "running",
        message,
        fraction,
        round=done,
        rounds=total,
        metrics=metrics,
        eta_seconds=eta,
        party=step.party,
        step=step.stage,
    )


def runner_listener(bus: ProgressBus) -> Callable[[Progress], None]:
    """An `on_progress` callback for the job runner that publishes its steps on `bus`."""

    def publish(step: Progress) -> None:
        message = f"{step.party}: {step.stage}" + (f" ({step.detail})" if step.detail else "")
        if step.stage == "round" and (event := _round_event(bus, step, message)) is not None:
            bus.publish(event)
            return
        stage, fraction = _RUNNER_STAGES.get(step.stage, ("running", -1.0))
        if fraction < 0:  # an unmapped or skipped step: keep the last known fraction
            past = bus.history(step.job_id)
            fraction = past[-1].fraction if past else 0.0
        bus.publish(ProgressEvent(step.job_id, stage, message, fraction, party=step.party, step=step.stage))

    return publish
