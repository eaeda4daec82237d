"""Spread independent big-integer work over processes (fork: workers inherit tables, no pickling).

Use workers > 1 where a party runs in its own process (the HTTP deployment); forking from a
process whose other threads hold locks (all parties as threads, as in the in-process tests)
is not safe, so the protocols default to one worker. On this shared 2-core machine two
workers measured no faster than one (scripts/bench/bench_paillier.py reports both).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

# Set just before forking, read by the workers: large precomputed tables reach them by fork,
# not by pickling on every call.
_TASK: Callable[[Any], list[Any]] | None = None
_MIN_ITEMS_PER_WORKER = 32


def available_cores() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _run(chunk: Any) -> list[Any]:
    assert _TASK is not None
    return _TASK(chunk)


def map_chunks(task: Callable[[Any], list[Any]], chunks: Sequence[Any], workers: int) -> list[Any]:
    """Concatenate task(chunk) over chunks, in order, using up to `workers` processes."""
    global _TASK
    if workers <= 1 or len(chunks) <= 1:
        return [item for chunk in chunks for item in task(chunk)]
    _TASK = task
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=context) as pool:
            return [item for part in pool.map(_run, chunks) for item in part]
    finally:
        _TASK = None


def split(items: Sequence[Any], workers: int) -> list[Sequence[Any]]:
    """Cut items into about `workers` contiguous chunks (one chunk if the batch is small)."""
    if workers <= 1 or len(items) < 2 * _MIN_ITEMS_PER_WORKER:
        return [items]
    size = -(-len(items) // workers)
    return [items[i : i + size] for i in range(0, len(items), size)]


def split_count(count: int, workers: int) -> list[int]:
    """Cut a count into about `workers` parts."""
    if workers <= 1 or count < 2 * _MIN_ITEMS_PER_WORKER:
        return [count] if count else []
    base, extra = divmod(count, workers)
    return [base + (1 if i < extra else 0) for i in range(workers) if base + (1 if i < extra else 0)]
