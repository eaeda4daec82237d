"""Transaction-key signing: eth-keys with coincurve against its pure-Python backend."""

from __future__ import annotations

import os
import sys

from eth_keys import KeyAPI
from eth_keys.backends import CoinCurveECCBackend, NativeECCBackend

sys.path.insert(0, os.path.dirname(__file__))
from report import emit, rate


def signatures_per_second(backend: object) -> float:
    api = KeyAPI(backend)
    key = api.PrivateKey(b"\x07" * 32)
    digests = [i.to_bytes(32, "big") for i in range(1, 65)]

    def work() -> int:
        for digest in digests:
            api.ecdsa_sign(digest, key)
        return len(digests)

    return rate(work)


def main() -> None:
    baseline = signatures_per_second(NativeECCBackend())
    emit(
        "ecdsa_sign_coincurve",
        signatures_per_second(CoinCurveECCBackend()),
        "sig/s",
        "eth-keys native backend",
        baseline,
    )


if __name__ == "__main__":
    main()
