"""Additive secret sharing over the ring Z_M, M = 2^128.

Security assumption: any n−1 of the n shares of a value are jointly uniform, so a coalition
missing one party's share learns nothing (semi-honest, pure functions, randomness from
`secrets`). Signed values live in (−M/2, M/2]; `check_headroom` refuses any local value that
could make the sum of n contributions wrap.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from compute.errors import EncodingOverflow

RING_BITS = 128
MODULUS = 1 << RING_BITS


def share(values: Sequence[int], parties: int) -> list[list[int]]:
    """`parties` share vectors that sum to `values` mod M, element by element."""
    if parties < 1:
        raise ValueError("at least one party")
    shares = [[secrets.randbelow(MODULUS) for _ in values] for _ in range(parties - 1)]
    last = [(v - sum(s[i] for s in shares)) % MODULUS for i, v in enumerate(values)]
    return [*shares, last]


def add(vectors: Sequence[Sequence[int]]) -> list[int]:
    """Element-wise sum mod M of share vectors."""
    return [sum(col) % MODULUS for col in zip(*vectors, strict=True)]


def to_signed(value: int) -> int:
    """The representative of a ring element in (−M/2, M/2]."""
    value %= MODULUS
    return value - MODULUS if value > MODULUS // 2 else value


def check_headroom(values: Sequence[int], parties: int) -> None:
    """EncodingOverflow unless n values of this size can be summed without wrapping the ring."""
    limit = MODULUS // (2 * parties)
    for v in values:
        if abs(v) >= limit:
            raise EncodingOverflow(
                f"a local aggregate of {v.bit_length()} bits leaves no headroom"
                f" for {parties} parties in Z_2^{RING_BITS}"
            )
