"""Time as the gateway sees it: injectable so that freshness can be tested without sleeping."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current Unix time in seconds."""

    def now(self) -> float:
        """Seconds since the epoch."""
        ...


class SystemClock:
    """The machine's wall clock."""

    def now(self) -> float:
        """Seconds since the epoch."""
        return time.time()
