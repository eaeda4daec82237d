"""The one output format of every benchmark: a JSON line per measurement."""

from __future__ import annotations

import json
import time
from collections.abc import Callable


def emit(name: str, value: float, unit: str, baseline: str, baseline_value: float) -> dict[str, object]:
    """Print one measurement with its same-process baseline and their ratio."""
    record = {
        "name": name,
        "value": round(value, 3),
        "unit": unit,
        "baseline": baseline,
        "baseline_value": round(baseline_value, 3),
        "ratio": round(value / baseline_value, 3) if baseline_value else None,
    }
    print(json.dumps(record), flush=True)
    return record


def rate(work: Callable[[], int], min_seconds: float = 1.0) -> float:
    """Run `work` (which returns how many items it did) until `min_seconds` pass; items per second."""
    items, start = 0, time.perf_counter()
    while True:
        items += work()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return items / elapsed
