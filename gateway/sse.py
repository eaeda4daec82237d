"""Server-sent events of a job: progress from the bus, the chain trail's changes, heartbeats.

Each progress event carries its sequence number as the SSE `id`, so a browser that loses the
connection reconnects (after the advertised `retry`) with `Last-Event-ID` and receives only
what it missed. A comment line every idle tick keeps proxies from closing a quiet stream.
With a `trail` probe (the explorer's live page), the stream also says `event: trail` whenever
the job's on-chain status, step count or verdict changes; it ends with the job's terminal
progress event, or, for a job that does not run here, once the chain says it is over.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable

from gateway.progress import ProgressBus

HEARTBEAT_SECONDS = 15.0
RETRY_MILLISECONDS = 2000
FINAL_STATUSES = frozenset({"Finalized", "Cancelled", "Aborted", "Refunded"})

TrailProbe = Callable[[], Awaitable[dict[str, object] | None]]


def last_event_id(header: str | None) -> int:
    """The sequence number a reconnecting client last saw (0 when absent or malformed)."""
    return int(header) if header and header.isascii() and header.isdigit() and len(header) < 12 else 0


async def job_events(
    bus: ProgressBus, job_id: int, after: int = 0, trail: TrailProbe | None = None, idle: float = HEARTBEAT_SECONDS
) -> AsyncIterator[str]:
    """The job's SSE lines: `retry`, then progress (with ids), trail changes and heartbeats."""
    yield f"retry: {RETRY_MILLISECONDS}\n\n"
    seen: dict[str, object] | None = None
    history = bus.history(job_id)
    runs_here = bool(history) and not history[-1].terminal
    async for event in bus.subscribe(job_id, after, idle=idle):
        if event is not None:
            yield f"id: {event.seq}\ndata: {json.dumps(event.as_dict())}\n\n"
            continue
        yield ": heartbeat\n\n"
        if trail is None:
            continue
        state = await trail()
        if state is not None and state != seen:
            seen = state
            yield f"event: trail\ndata: {json.dumps(state)}\n\n"
            if state.get("status") in FINAL_STATUSES and not runs_here:
                return
