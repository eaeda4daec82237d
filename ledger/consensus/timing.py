"""The consensus protocol's clocks and how much history etcd keeps (`custos chain up` uses the defaults)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """The protocol's clocks (seconds) and how much history etcd keeps."""

    round_timeout: float = 4.0
    lease_ttl: int = 2
    # After its own round was abandoned, an honest leader waits this long before campaigning again.
    stand_down: float = 3.0
    poll: float = 0.2
    # The proposer gathers transactions until none arrived for `gather_quiet`, at most `gather_max`:
    # closed-loop senders answer a final block within milliseconds, and each block costs every node
    # a re-execution and a commit whatever its size.
    gather_quiet: float = 0.01
    gather_max: float = 0.05
    # etcd keeps the proposals, seals and round records of this many heights below the head
    # (every node prunes after finality; older blocks come from peers, checked).
    keep_heights: int = 256
