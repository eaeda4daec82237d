"""Paillier: encryptions/s (fresh, precomputed online/offline, short-exponent), CRT batch decryption,
ciphertext × feature products, against python-paillier (phe + gmpy2) in the same process."""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
from report import emit

from compute.paillier import (
    Decryptor,
    Encryptor,
    PrecomputedObfuscation,
    ShortExponentObfuscation,
    generate_keypair,
)


def per_second(action, count: int) -> float:
    start = time.perf_counter()
    action()
    return count / (time.perf_counter() - start)


def bench_bits(bits: int, count: int) -> None:
    keys = generate_keypair(bits)
    values = np.random.default_rng(0).normal(size=count)
    baseline = per_second(lambda: [keys.public.encrypt(float(v)) for v in values], count)
    emit(
        f"paillier{bits}_encrypt_fresh",
        per_second(lambda: Encryptor(keys.public).encrypt(values), count),
        "enc/s",
        "phe encrypt (gmpy2)",
        baseline,
    )
    pool = PrecomputedObfuscation(keys.public)
    offline = per_second(lambda: pool.precompute(count), count)
    emit(f"paillier{bits}_precompute_obfuscators_offline", offline, "obf/s", "phe encrypt (gmpy2)", baseline)
    emit(
        f"paillier{bits}_encrypt_precomputed_online",
        per_second(lambda: Encryptor(keys.public, pool).encrypt(values), count),
        "enc/s",
        "phe encrypt (gmpy2)",
        baseline,
    )
    start = time.perf_counter()
    short = ShortExponentObfuscation(keys.public)
    emit(
        f"paillier{bits}_short_exponent_table_offline",
        time.perf_counter() - start,
        "s",
        "phe encrypt of 1 value (s)",
        1 / baseline,
    )
    emit(
        f"paillier{bits}_encrypt_short_exponent",
        per_second(lambda: Encryptor(keys.public, short).encrypt(values), count),
        "enc/s",
        "phe encrypt (gmpy2)",
        baseline,
    )
    emit(
        f"paillier{bits}_encrypt_short_exponent_2workers",
        per_second(lambda: Encryptor(keys.public, short, workers=2).encrypt(np.tile(values, 4)), 4 * count),
        "enc/s",
        "same, 1 worker (shared 2-core machine)",
        per_second(lambda: Encryptor(keys.public, short).encrypt(np.tile(values, 4)), 4 * count),
    )
    vector = Encryptor(keys.public, short).encrypt(values)
    phe_numbers = vector.to_phe()
    emit(
        f"paillier{bits}_decrypt_crt_batch",
        per_second(lambda: Decryptor(keys.private).decrypt(vector), count),
        "dec/s",
        "phe decrypt",
        per_second(lambda: [keys.private.decrypt(x) for x in phe_numbers], count),
    )
    features = np.random.default_rng(1).normal(size=(count, 4))
    phe_rate = per_second(
        lambda: [sum(d * float(x) for d, x in zip(phe_numbers, col)) for col in features.T], features.size
    )
    emit(
        f"paillier{bits}_ciphertext_times_feature",
        per_second(lambda: vector.rmatmul(features), features.size),
        "mul+add/s",
        "phe ciphertext × float, summed",
        phe_rate,
    )


def main() -> None:
    bench_bits(1024, 400)
    bench_bits(2048, 200)


if __name__ == "__main__":
    main()
