"""Following the demo's gateways: each one's live progress stream (signed SSE), relayed as lines.

One thread per gateway reads `GET /jobs/{id}/progress` as that organisation's member, the way
any member's client would; until the gateway's runner has taken its first step on the job the
route answers 404, so the follower asks again. Events queue up for the demo to print, and are
kept per organisation so a test can wait for "the compute node has started the protocol".
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from gateway.client import GatewayClient

_RETRY = 1.0  # seconds between asks until the runner reaches the job (nothing is missed: the bus keeps history)


class GatewayProgress:
    """The progress events every followed gateway has streamed so far."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, list[dict[str, Any]]] = {}
        self._lines: queue.Queue[str] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def follow(self, name: str, url: str, key: bytes, job_id: int, process: subprocess.Popen) -> None:
        """Follow `name`'s gateway at `url` (signing as `key`) on `job_id` until a terminal event or its exit."""
        with self._lock:
            self._events.setdefault(name, [])
        thread = threading.Thread(
            target=self._follow, args=(name, url, key, job_id, process), name=f"progress-{name}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _follow(self, name: str, url: str, key: bytes, job_id: int, process: subprocess.Popen) -> None:
        after = 0  # the last event id seen: a reconnect asks only for what came after it
        while not self._stop.is_set() and process.poll() is None:
            try:
                with GatewayClient.connect(url, key) as client:
                    while not self._stop.is_set():
                        headers = {"Last-Event-ID": str(after)} if after else {}
                        with client.stream("GET", f"/jobs/{job_id}/progress", headers=headers, timeout=None) as reply:
                            if reply.status_code == 404:  # the runner has not reached the job yet
                                self._stop.wait(_RETRY)
                                continue
                            reply.raise_for_status()
                            for line in reply.iter_lines():
                                if line.startswith("id: "):
                                    after = int(line[len("id: ") :])
                                elif line.startswith("data: ") and self._record(name, line[len("data: ") :]):
                                    return
            except (httpx.HTTPError, ValueError):
                self._stop.wait(_RETRY)  # the gateway restarts, or went away (the loop checks the process)

    def _record(self, name: str, data: str) -> bool:
        event = json.loads(data)
        with self._lock:
            self._events[name].append(event)
        self._lines.put(f"  [{name}] {event['message']}")
        return event["stage"] in ("finished", "failed")

    def events(self, name: str, job_id: int | None = None) -> list[dict[str, Any]]:
        """Every event `name`'s gateway has streamed so far (on `job_id`, if given), oldest first."""
        with self._lock:
            events = list(self._events.get(name, ()))
        return [e for e in events if job_id is None or e["job_id"] == job_id]

    def reached(self, name: str, step: str, job_id: int | None = None) -> dict[str, Any] | None:
        """The first event of the runner step `step` (protocol, round, commit, ...) from `name`, or None."""
        return next((e for e in self.events(name, job_id) if e.get("step") == step), None)

    def relay(self, say: Callable[[str], None]) -> None:
        """Print every line that arrived since the last call."""
        while True:
            try:
                say(self._lines.get_nowait())
            except queue.Empty:
                return

    def settle(self, timeout: float) -> None:
        """Give the followers up to `timeout` seconds to see their terminal events (a party that took no
        part in how the job ended sees none: its stream stays open until its gateway stops)."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        """Stop following (streams end when their gateways stop)."""
        self._stop.set()
