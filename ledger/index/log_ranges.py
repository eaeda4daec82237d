"""eth_getLogs over a long block range: consecutive ranges no node refuses.

Nodes bound the blocks one eth_getLogs may span (the embedded node 10,000; many providers
fewer). `ranged_logs` walks first..last in ranges of `span` blocks and halves the span
whenever the node refuses one (the fetch returns None), down to a single block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

MAX_LOG_BLOCKS = 10_000  # the embedded node's limit (ledger.chain.filters.MAX_LOG_RANGE)


def ranged_logs(
    fetch: Callable[[int, int], list[T] | None], first: int, last: int, span: int = MAX_LOG_BLOCKS
) -> Iterator[list[T]]:
    """`fetch(start, end)` for consecutive ranges covering first..last, in order.

    `fetch` returns None when the node refuses the range as too large: the range is halved and
    asked again. A refused single block raises ValueError (no smaller range exists).
    """
    start = first
    while start <= last:
        end = min(last, start + span - 1)
        found = fetch(start, end)
        if found is None:
            if end == start:
                raise ValueError(f"the node refuses eth_getLogs even for block {start} alone")
            span = max(1, (end - start + 1) // 2)
            continue
        yield found
        start = end + 1
