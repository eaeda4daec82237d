"""Obfuscators r^n mod n²: the cost of Paillier encryption (99% of it at 2048 bits).

Three ways to make them, all producing uniformly re-randomised ciphertexts:

- `FreshObfuscation` (the default): r uniform in Z_n*, r^n computed when encrypting —
  exactly what phe does.
- `PrecomputedObfuscation`: the same r^n values computed ahead of time (offline, e.g.
  while waiting for a peer) and each used once; the offline time is reported by
  `precompute`, never hidden. Running out raises, it never reuses one.
- `ShortExponentObfuscation`: Damgård–Jurik–Nielsen's variant, h_s^a with h_s = (−x²)^n
  and a short random exponent a, by fixed-base windowing from a precomputed table. Its
  security rests on DCR *plus* the assumption that h_s^a with a short a is indistinguishable
  from a random n-th residue (DJN 2010, §4.2); `exponent_bits` defaults to |n|/2, the
  conservative choice. Not the default, by name a deliberate choice.
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from typing import Protocol

import gmpy2
from phe import paillier

from compute.errors import InvalidInput
from compute.paillier.parallel import map_chunks, split_count


class ObfuscatorsExhausted(InvalidInput):
    """A precomputed pool has fewer obfuscators left than a batch needs."""


def _random_unit(n: int) -> gmpy2.mpz:
    while True:
        r = secrets.randbelow(n)
        if r > 1 and gmpy2.gcd(r, n) == 1:
            return gmpy2.mpz(r)


class Obfuscation(Protocol):
    """A source of obfuscators r^n mod n² for one public key."""

    def take(self, count: int, workers: int) -> list[gmpy2.mpz]:
        """`count` fresh obfuscators, each returned once."""
        ...


class FreshObfuscation:
    """r^n mod n² with r uniform, computed on demand (phe's method, spread over workers)."""

    def __init__(self, public_key: paillier.PaillierPublicKey) -> None:
        self._n = gmpy2.mpz(public_key.n)
        self._nsquare = gmpy2.mpz(public_key.nsquare)

    def _make(self, count: int) -> list[gmpy2.mpz]:
        n, nsquare = self._n, self._nsquare
        return [gmpy2.powmod(_random_unit(n), n, nsquare) for _ in range(count)]

    def take(self, count: int, workers: int = 1) -> list[gmpy2.mpz]:
        """`count` new obfuscators."""
        return map_chunks(self._make, split_count(count, workers), workers)


class PrecomputedObfuscation:
    """A pool of r^n mod n² filled offline; each taken once, in order."""

    def __init__(self, public_key: paillier.PaillierPublicKey) -> None:
        self._fresh = FreshObfuscation(public_key)
        self._pool: deque[gmpy2.mpz] = deque()
        self.offline_seconds = 0.0

    def precompute(self, count: int, workers: int = 1) -> float:
        """Add `count` obfuscators to the pool; returns (and accumulates) the seconds it took."""
        start = time.perf_counter()
        self._pool.extend(self._fresh.take(count, workers))
        elapsed = time.perf_counter() - start
        self.offline_seconds += elapsed
        return elapsed

    def __len__(self) -> int:
        return len(self._pool)

    def take(self, count: int, workers: int = 1) -> list[gmpy2.mpz]:
        """The next `count` pooled obfuscators; ObfuscatorsExhausted if the pool is short."""
        if count > len(self._pool):
            raise ObfuscatorsExhausted(f"{count} obfuscators needed, {len(self._pool)} precomputed")
        return [self._pool.popleft() for _ in range(count)]


class ShortExponentObfuscation:
    """DJN obfuscators h_s^a, a < 2^exponent_bits, by fixed-base windowing (see module docstring)."""

    def __init__(
        self, public_key: paillier.PaillierPublicKey, exponent_bits: int | None = None, window: int = 8
    ) -> None:
        n = gmpy2.mpz(public_key.n)
        self._nsquare = gmpy2.mpz(public_key.nsquare)
        self.exponent_bits = exponent_bits or public_key.n.bit_length() // 2
        if not 128 <= self.exponent_bits <= public_key.n.bit_length():
            raise InvalidInput(f"short exponent of {self.exponent_bits} bits refused: use 128..|n| bits")
        self._window = window
        start = time.perf_counter()
        x = _random_unit(n)
        h = (-x * x) % n
        base = gmpy2.powmod(h, n, self._nsquare)
        self._table: list[list[gmpy2.mpz]] = []
        for _ in range(-(-self.exponent_bits // window)):
            row = [gmpy2.mpz(1)]
            for _ in range((1 << window) - 1):
                row.append(row[-1] * base % self._nsquare)
            self._table.append(row)
            base = row[-1] * base % self._nsquare  # base^(2^window)
        self.offline_seconds = time.perf_counter() - start

    def _make(self, count: int) -> list[gmpy2.mpz]:
        nsquare, table, window, mask = self._nsquare, self._table, self._window, (1 << self._window) - 1
        out = []
        for _ in range(count):
            a = secrets.randbits(self.exponent_bits)
            acc = gmpy2.mpz(1)
            for row in table:
                digit = a & mask
                if digit:
                    acc = acc * row[digit] % nsquare
                a >>= window
            out.append(acc)
        return out

    def take(self, count: int, workers: int = 1) -> list[gmpy2.mpz]:
        """`count` new obfuscators."""
        return map_chunks(self._make, split_count(count, workers), workers)
