"""Waiting in tests: every wait has its own deadline and says what it waited for.

`wait_for` polls a condition (a chain, a process, a server) until it holds; `RunnerProgress`
reads the JSON progress lines a `custos runner up` process prints, so a test can wait for
"this party has started the protocol" instead of sleeping and hoping it has.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout: float, what: str, poll: float = 0.05) -> T:
    """The first truthy value of `condition()`; AssertionError naming `what` once `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        time.sleep(poll)  # the poll interval of a bounded wait, not a guess at how long something takes


class RunnerProgress:
    """The progress events one runner process has printed so far (its stdout, read without blocking)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None, "the runner's stdout must be a pipe"
        self._stdout = process.stdout
        os.set_blocking(self._stdout.fileno(), False)
        self.events: list[dict[str, Any]] = []

    def read(self) -> list[dict[str, Any]]:
        """Every event so far, reading what arrived since the last call."""
        for line in self._stdout:
            try:
                self.events.append(json.loads(line))
            except ValueError:
                continue
        return self.events

    def stage(self, stage: str) -> dict[str, Any] | None:
        """The first event of `stage` printed so far, or None."""
        return next((e for e in self.read() if e.get("stage") == stage), None)
