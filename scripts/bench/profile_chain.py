"""Profile the embedded node admitting and sealing N `AuditAnchor.anchor` calls in-process (no HTTP).

`python scripts/bench/profile_chain.py --count 500` (or `bench_chain.py --profile`): prints the
admission and sealing rates, then cProfile's 40 costliest calls by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_chain import ANCHOR_ABI, _prepare_embedded


def profile(count: int) -> None:
    """Profile the embedded node admitting and sealing `count` anchor() calls in-process (no HTTP)."""
    from ledger.chain.node import Node
    from ledger.chain.setup import validator_key

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "chain"
        sender, anchor = _prepare_embedded(directory)
        node = Node.open(directory, validator_key(directory, None))
        common = {"chainId": node.chain_id, "maxFeePerGas": 0, "maxPriorityFeePerGas": 0, "value": 0}
        raws = [
            sender.sign_transaction(
                {
                    **common,
                    "nonce": i,
                    "gas": 150_000,
                    "to": anchor,
                    "data": ANCHOR_ABI.encode_abi("anchor", [(i + 1).to_bytes(32, "big"), 1, b"\1" * 32]),
                }
            ).raw_transaction
            for i in range(count)
        ]
        node.instant = False
        profiler = cProfile.Profile()
        profiler.enable()
        start = time.perf_counter()
        for raw in raws:
            node.submit_raw(raw)
        admitted = time.perf_counter()
        while len(node.pool):
            node.produce_block()
        done = time.perf_counter()
        profiler.disable()
        node.close()
        print(
            json.dumps(
                {
                    "admit_tps": count / (admitted - start),
                    "seal_tps": count / (done - admitted),
                    "total_tps": count / (done - start),
                    "profiled": True,
                }
            )
        )
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


def main() -> int:
    """Profile and print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    profile(parser.parse_args().count)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
