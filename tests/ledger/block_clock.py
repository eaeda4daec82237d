"""Block timestamps held still, then moved past a moment: a window or deadline tested without racing the clock.

While held, every block (and every call or gas estimate on the pending block) gets the same timestamp,
however long the steps in between take on a loaded machine; `pass_beyond(t)` then lets the next block's
timestamp exceed `t`.

- anvil: its own RPCs (`anvil_setBlockTimestampInterval 0` holds its clock, `evm_increaseTime` moves it).
- the embedded node (in this process for both embedded backends of tests/backends.py): its producer's wall
  clock is replaced by a fixed second while held (a block's timestamp is never below its parent's);
  `pass_beyond` waits for the real clock instead of jumping ahead, so the session's shared chain never
  runs ahead of the wall clock for the tests after.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from web3 import Web3

import ledger.chain.execution
import ledger.chain.methods
import ledger.chain.node
from tests.backends import Chain
from tests.waiting import wait_for

# The embedded chain's modules that read the wall clock for a block's (or the pending block's) timestamp.
_EMBEDDED_CLOCK_READERS: tuple[ModuleType, ...] = (ledger.chain.node, ledger.chain.execution, ledger.chain.methods)


class _StoppedClock:
    """The `time` module, except that `time()` answers a fixed second."""

    def __init__(self, second: int) -> None:
        self.second = second

    def time(self) -> float:
        return float(self.second)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


class BlockClock:
    """The timestamps of one backend's blocks, held at `held` until `pass_beyond`."""

    def __init__(self, chain: Chain) -> None:
        self.w3: Web3 = chain.w3
        self.anvil = chain.name == "anvil"
        self.held = self._latest()
        self._stopped = _StoppedClock(self.held)
        self._holding = False

    def _latest(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def hold(self) -> None:
        """From now on every block gets the latest block's timestamp."""
        if self.anvil:
            self.w3.provider.make_request("anvil_setBlockTimestampInterval", [0])  # type: ignore[arg-type]  # anvil_* methods are not in web3's RPC enum
        else:
            for module in _EMBEDDED_CLOCK_READERS:
                module.time = self._stopped  # type: ignore[attr-defined]  # each imports `time`; the stand-in answers like it
        self._holding = True

    def release(self) -> None:
        """Blocks follow the backend's clock again (never below their parent)."""
        if not self._holding:
            return
        if self.anvil:
            self.w3.provider.make_request("anvil_removeBlockTimestampInterval", [])  # type: ignore[arg-type]  # anvil_* methods are not in web3's RPC enum
        else:
            for module in _EMBEDDED_CLOCK_READERS:
                module.time = time  # type: ignore[attr-defined]  # the module's own import, put back
        self._holding = False

    def pass_beyond(self, timestamp: int) -> None:
        """Release the clock so that calls, and the blocks from the next one on, have timestamps beyond `timestamp`."""
        self.release()
        if self.anvil:
            self.w3.provider.make_request("evm_increaseTime", [max(0, timestamp + 1 - self._latest())])  # type: ignore[arg-type]  # evm_* methods are not in web3's RPC enum
            self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]  # anvil's calls see the new time only in a new block
        else:
            patience = max(0.0, timestamp + 1 - time.time()) + 30
            wait_for(lambda: time.time() >= timestamp + 1, patience, f"the wall clock past {timestamp}")


@contextmanager
def held_block_clock(chain: Chain) -> Iterator[BlockClock]:
    """A held `BlockClock` on `chain`'s backend, released on exit."""
    clock = BlockClock(chain)
    clock.hold()
    try:
        yield clock
    finally:
        clock.release()
