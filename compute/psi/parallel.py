"""Spreading independent batches of public-key work over the machine's cores.

One process pool per process, started on first use, reused by every party and every run in
that process. Workers come from a forkserver: forking the caller itself is unsafe once other
threads (parties, HTTP servers, the job runner) hold locks. multiprocessing would have the
forkserver and each worker re-run the caller's `__main__` script (so a script without an
`if __name__ == "__main__"` guard would start PSI again in every worker and crash); the server
is told to preload our modules instead, and all workers are started at once while the script's
path is withheld from their preparation data, so callers need no main guard. Work
below `INLINE_BELOW` items runs in the caller, where a pool's start-up would cost more.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
INLINE_BELOW = 4096
_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def workers() -> int:
    """How many worker processes the pool uses (one per core)."""
    return max(1, os.cpu_count() or 1)


def _get_pool() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["compute.psi.ecdh", "compute.psi.rsa"])
            pool = ProcessPoolExecutor(max_workers=workers(), mp_context=context)
            main = sys.modules["__main__"]
            script = main.__dict__.pop("__file__", None)
            try:  # every worker starts now, none of them told to import the caller's script
                list(pool.map(abs, range(workers() * 2)))
            finally:
                if script is not None:
                    main.__file__ = script
            atexit.register(pool.shutdown, cancel_futures=True)
            _pool = pool
        return _pool


def chunks(items: Sequence[T], parts: int) -> list[Sequence[T]]:
    """`items` cut into at most `parts` contiguous, nearly equal slices."""
    size = max(1, -(-len(items) // max(parts, 1)))
    return [items[i : i + size] for i in range(0, len(items), size)]


def map_blob(fn: Callable[..., bytes], blob: bytes, width: int, *args: Any, parallel: bool | None = None) -> bytes:
    """fn(*args, chunk) over whole `width`-byte records of `blob`, concatenated in order.

    One bytes object per batch pickles far faster than a list of small ones.
    """
    count = len(blob) // width
    if parallel is None:
        parallel = count >= INLINE_BELOW and workers() > 1
    if not parallel:
        return fn(*args, blob)
    per = max(1, -(-count // (workers() * 4))) * width
    batches = [blob[i : i + per] for i in range(0, len(blob), per)]
    return b"".join(_get_pool().map(fn, *([a] * len(batches) for a in args), batches))


def warm_up() -> None:
    """Start the worker processes now, so a later timed run does not pay for it."""
    if workers() > 1:
        list(_get_pool().map(abs, range(workers() * 2)))


def map_batches(fn: Callable[..., Any], items: Sequence[Any], *args: Any, parallel: bool | None = None) -> list[Any]:
    """[fn(*args, batch) for each batch of items], in order, over the pool when worth it."""
    if parallel is None:
        parallel = len(items) >= INLINE_BELOW and workers() > 1
    if not parallel:
        return [fn(*args, items)]
    batches = chunks(items, workers() * 4)
    pool = _get_pool()
    return list(pool.map(fn, *([a] * len(batches) for a in args), batches))
