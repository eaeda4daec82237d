"""Fixed-point encoding of reals as integers: x ↦ round(x · 2^f), with explicit range checks.

Precision: each value is rounded to the nearest multiple of 2^-f, so a sum of N values is
exact on the encoded values and within N · 2^-(f+1) of the real sum.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from compute.errors import EncodingOverflow

DEFAULT_FRACTION_BITS = 16
DEFAULT_MAX_ABS = 2.0**40


def encode(
    values: Iterable[float], fraction_bits: int = DEFAULT_FRACTION_BITS, max_abs: float = DEFAULT_MAX_ABS
) -> list[int]:
    """round(x · 2^f) for each value; EncodingOverflow on NaN, infinity or |x| > max_abs."""
    scale = 1 << fraction_bits
    out = []
    for x in values:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            raise EncodingOverflow(f"cannot encode {x!r}: not a finite number")
        if abs(x) > max_abs:
            raise EncodingOverflow(f"cannot encode {x!r}: outside ±{max_abs:g}")
        out.append(x * scale if isinstance(x, int) else round(x * scale))
    return out


def decode(value: int, fraction_bits: int = DEFAULT_FRACTION_BITS) -> float:
    """The real an encoded integer stands for."""
    return value / (1 << fraction_bits)
