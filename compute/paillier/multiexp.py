"""Π c_i^k_i mod m for many bases and small non-negative exponents (Pippenger's bucket method).

Xᵀ·[[d]] needs, per feature, a product of rows-many powers with ~16-bit exponents. Powering
each base costs ~|k| squarings plus ~|k|/2 products; bucketing by w-bit digit costs one
product per base per window plus 2^(w+1) per window, ~7× fewer multiplications for a few
hundred bases and more for thousands.
"""

from __future__ import annotations

from collections.abc import Sequence

import gmpy2


def _window_for(count: int) -> int:
    # minimise windows·(count + 2^(w+1)); the optimum grows like log2(count)
    return max(2, min(12, count.bit_length() - 3))


def multi_power(bases: Sequence[gmpy2.mpz], exponents: Sequence[int], modulus: gmpy2.mpz) -> gmpy2.mpz:
    """Π bases[i]^exponents[i] mod modulus, for exponents ≥ 0."""
    pairs = [(b, k) for b, k in zip(bases, exponents) if k]
    if not pairs:
        return gmpy2.mpz(1)
    bits = max(k for _, k in pairs).bit_length()
    window = _window_for(len(pairs))
    mask = (1 << window) - 1
    result = gmpy2.mpz(1)
    for shift in range(((bits - 1) // window) * window, -1, -window):
        for _ in range(window if result != 1 else 0):
            result = result * result % modulus
        buckets: list[gmpy2.mpz | None] = [None] * (mask + 1)
        for base, k in pairs:
            digit = (k >> shift) & mask
            if digit:
                bucket = buckets[digit]
                buckets[digit] = base if bucket is None else bucket * base % modulus
        # Σ d·B[d] as a running product: running = Π_{e≥d} B[e], total = Π_d running_d
        running, total = gmpy2.mpz(1), gmpy2.mpz(1)
        for digit in range(mask, 0, -1):
            bucket = buckets[digit]
            if bucket is not None:
                running = running * bucket % modulus
            if running != 1:
                total = total * running % modulus
        result = result * total % modulus
    return result
