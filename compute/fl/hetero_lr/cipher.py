"""The homomorphic operations hetero-LR needs, in two interchangeable implementations.

`FastCipher` uses compute.paillier (fixed-exponent vectors, bucket multi-exponentiation,
batch obfuscators, CRT decryption); `PheCipher` is the straightforward python-paillier
version of the same operations (one EncryptedNumber per value, phe's float encoding), kept
as the benchmark baseline and as a cross-check. Roles only call this interface.

Masking before the arbiter decrypts: `FastCipher` packs several gradient values into one
plaintext, slot j holding g_j + 2^B + r_j with r_j uniform in [0, 2^(B+1+σ)) (B = 96 value
bits, σ = 40 bits of statistical hiding), so the arbiter decrypts ~14× fewer ciphertexts at
2048 bits and each slot it sees is within 2^-σ of uniform; a slot that overflowed is
detected when unmasking. `PheCipher` masks each value with a random float, as a
straightforward implementation does.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import Any

import gmpy2
import numpy as np
from phe import paillier

from compute.errors import EncodingOverflow, InvalidInput
from compute.fl.hetero_lr.schedule import CURVATURE_EXPONENT
from compute.paillier import (
    DEFAULT_EXPONENT,
    Decryptor,
    EncryptedVector,
    Encryptor,
    FreshObfuscation,
    PrecomputedObfuscation,
    ShortExponentObfuscation,
    check_ciphertexts,
    decode,
    generate_keypair,
)

OBFUSCATIONS = ("fresh", "precomputed", "short-exponent")
FEATURE_EXPONENT = -4  # features as m·16^-4: ~17-bit exponents, resolution 1.5e-5 on standardised data
VALUE_BITS = 96  # |encoded gradient| < 2^96: at exponent −13 that is |g| < 2^44
HIDING_BITS = 40  # statistical distance of a masked slot from uniform: ≤ 2^-40
SLOT_BITS = VALUE_BITS + 1 + HIDING_BITS + 1  # value + sign offset, mask, one bit of carry room


class FastCipher:
    """hetero-LR's operations over compute.paillier."""

    name = "fast"

    def __init__(self, n_bits: int = 2048, obfuscation: str = "short-exponent", workers: int = 1) -> None:
        if obfuscation not in OBFUSCATIONS:
            raise InvalidInput(f"obfuscation must be one of {OBFUSCATIONS}, not {obfuscation!r}")
        self.n_bits, self.obfuscation, self.workers = n_bits, obfuscation, workers
        self.public_key: paillier.PaillierPublicKey | None = None
        self._encryptor: Encryptor | None = None
        self._decryptor: Decryptor | None = None
        self.offline_seconds = 0.0

    def keygen(self) -> int:
        """Make the key pair (arbiter); returns n."""
        keys = generate_keypair(self.n_bits)
        self.public_key, self._decryptor = keys.public, Decryptor(keys.private, self.workers)
        return keys.public.n

    def bind(self, n: int, expected_encryptions: int) -> None:
        """Use the arbiter's public key; precompute obfuscators (offline, timed) if so configured."""
        self.public_key = paillier.PaillierPublicKey(n)
        start = time.perf_counter()
        if self.obfuscation == "precomputed":
            pool = PrecomputedObfuscation(self.public_key)
            pool.precompute(expected_encryptions, self.workers)
            source: Any = pool
        elif self.obfuscation == "short-exponent":
            source = ShortExponentObfuscation(self.public_key)
        else:
            source = FreshObfuscation(self.public_key)
        self.offline_seconds += time.perf_counter() - start
        self._encryptor = Encryptor(self.public_key, source, self.workers)

    def encrypt(self, values: np.ndarray) -> EncryptedVector:
        """Encrypt floats (fresh obfuscators)."""
        assert self._encryptor is not None
        return self._encryptor.encrypt(values, DEFAULT_EXPONENT)

    def residual(self, host_parts: Sequence[EncryptedVector], own: np.ndarray, weights: np.ndarray) -> EncryptedVector:
        """[[weights ⊙ Σ_h u_h + own]] (weights on the 16^CURVATURE_EXPONENT grid); fresh `own` re-randomises it."""
        total = host_parts[0]
        for part in host_parts[1:]:
            total = total + part
        weighted = total.mul_plain(weights, CURVATURE_EXPONENT)
        assert self._encryptor is not None
        return weighted + self._encryptor.encrypt(own, weighted.exponent)

    def multiply(self, vector: EncryptedVector, values: np.ndarray) -> EncryptedVector:
        """[[v ⊙ values]] element-wise, values at the feature exponent."""
        return vector.mul_plain(values, FEATURE_EXPONENT)

    def rmatmul(self, vector: EncryptedVector, matrix: np.ndarray) -> EncryptedVector:
        """[[Xᵀ d]]."""
        return vector.rmatmul(matrix, FEATURE_EXPONENT, self.workers)

    def add(self, a: EncryptedVector, b: EncryptedVector) -> EncryptedVector:
        """[[a + b]]."""
        return a + b

    def slots(self) -> int:
        """Gradient values packed into one ciphertext for the arbiter."""
        assert self.public_key is not None
        return max(1, (self.public_key.n.bit_length() - 2) // SLOT_BITS)

    def packed_length(self, length: int) -> int:
        """Ciphertexts the arbiter decrypts for a gradient of `length` values."""
        return -(-length // self.slots())

    def mask(self, vector: EncryptedVector) -> tuple[EncryptedVector, tuple[list[int], int]]:
        """[[Σ_j (g_j + 2^B + r_j)·2^(slot·j)]] per group of slots, and the masks r."""
        per, nsquare = self.slots(), gmpy2.mpz(vector.public_key.nsquare)
        masks = [secrets.randbits(VALUE_BITS + 1 + HIDING_BITS) for _ in range(len(vector))]
        shifted = vector.add_encoded([(1 << VALUE_BITS) + r for r in masks]).ciphertexts
        packed = []
        for start in range(0, len(shifted), per):
            group = shifted[start : start + per]
            acc = group[-1]
            for c in reversed(group[:-1]):  # Horner: acc·2^slot + next, in the exponent
                acc = gmpy2.powmod(acc, 1 << SLOT_BITS, nsquare) * c % nsquare
            packed.append(acc)
        return EncryptedVector(vector.public_key, packed, vector.exponent), (masks, len(vector))

    def decrypt_residues(self, vector: EncryptedVector) -> list[int]:
        """Decrypt to Z_n (arbiter); every slot is masked."""
        assert self._decryptor is not None
        return self._decryptor.decrypt_residues(vector)

    def unmask(self, residues: Sequence[int], state: Any, exponent: int) -> np.ndarray:
        """g_j from the packed slots; EncodingOverflow if a value left its slot."""
        masks, length = state
        per, slot_mask = self.slots(), (1 << SLOT_BITS) - 1
        signed = []
        for j in range(length):
            packed = residues[j // per]
            value = ((packed >> (SLOT_BITS * (j % per))) & slot_mask) - masks[j] - (1 << VALUE_BITS)
            if not -(1 << VALUE_BITS) <= value < (1 << VALUE_BITS):
                raise EncodingOverflow("a gradient value overflowed its packing slot")
            signed.append(value)
        return decode(signed, exponent)

    def dump(self, vector: EncryptedVector) -> tuple[int, list[int]]:
        """(exponent, ciphertexts) for the wire."""
        return vector.exponent, [int(c) for c in vector.ciphertexts]

    def load(self, exponent: int, ciphertexts: list[int]) -> EncryptedVector:
        """A checked vector from the wire (CiphertextOutOfRange if any is outside [1, n²))."""
        assert self.public_key is not None
        check_ciphertexts(self.public_key, ciphertexts)
        return EncryptedVector(self.public_key, ciphertexts, exponent)


class PheCipher(FastCipher):
    """The same operations done the straightforward way: one phe EncryptedNumber per value."""

    name = "phe"

    def __init__(self, n_bits: int = 2048, obfuscation: str = "fresh", workers: int = 1) -> None:
        super().__init__(n_bits, "fresh", 1)
        self._private: paillier.PaillierPrivateKey | None = None

    def keygen(self) -> int:
        """Make the key pair with phe (arbiter); returns n."""
        self.public_key, self._private = paillier.generate_paillier_keypair(n_length=self.n_bits)
        return self.public_key.n

    def bind(self, n: int, expected_encryptions: int) -> None:
        """Use the arbiter's public key."""
        self.public_key = paillier.PaillierPublicKey(n)

    def packed_length(self, length: int) -> int:
        """No packing: one ciphertext per value."""
        return length

    def encrypt(self, values: np.ndarray) -> list[paillier.EncryptedNumber]:  # type: ignore[override]  # the phe baseline returns phe's numbers, not an EncryptedVector
        """phe encryption of each float (phe picks each value's exponent)."""
        assert self.public_key is not None
        return [self.public_key.encrypt(float(v)) for v in values]

    def residual(self, host_parts, own, weights):  # type: ignore[no-untyped-def]  # the phe baseline mirrors FastCipher duck-typed, for benchmarks only
        """[[weights ⊙ Σ wx_h]] + [[own]] with phe's operators."""
        total = [sum(column[1:], column[0]) for column in zip(*host_parts)]
        return [t * float(w) + e for t, w, e in zip(total, weights, self.encrypt(own))]

    def multiply(self, vector, values):  # type: ignore[no-untyped-def]  # as above
        """[[v ⊙ values]] with phe's ciphertext × float."""
        return [x * float(v) for x, v in zip(vector, values)]

    def rmatmul(self, vector, matrix):  # type: ignore[no-untyped-def]  # as above
        """Σ_i d_i·x_ij with phe's ciphertext × float."""
        return [
            sum((d * float(x) for d, x in zip(vector[1:], column[1:])), vector[0] * float(column[0]))
            for column in np.asarray(matrix).T
        ]

    def add(self, a, b):  # type: ignore[no-untyped-def]  # the phe baseline mirrors FastCipher duck-typed, for benchmarks only
        """[[a + b]] element-wise with phe's operators."""
        return [x + z for x, z in zip(a, b)]

    def mask(self, vector):  # type: ignore[no-untyped-def]  # the phe baseline mirrors FastCipher duck-typed, for benchmarks only
        """[[g + r]] with r a random float mask (the straightforward masking)."""
        masks = [secrets.randbelow(2**64) / 2**20 for _ in vector]
        return [v + r for v, r in zip(vector, masks)], masks

    def decrypt_residues(self, vector):  # type: ignore[no-untyped-def]  # as above
        """phe decryption to floats (arbiter)."""
        assert self._private is not None
        return [self._private.decrypt(v) for v in vector]

    def unmask(self, residues, masks, exponent):  # type: ignore[no-untyped-def]  # as above
        """g = (g + r) − r."""
        return np.array([v - r for v, r in zip(residues, masks)])

    def dump(self, vector):  # type: ignore[no-untyped-def]  # as above
        """Per-value (ciphertext, exponent) pairs."""
        return None, [[int(v.ciphertext(be_secure=False)), v.exponent] for v in vector]

    def load(self, exponent, ciphertexts):  # type: ignore[no-untyped-def]  # as above
        """phe EncryptedNumbers from the wire, range-checked."""
        assert self.public_key is not None
        check_ciphertexts(self.public_key, [c for c, _ in ciphertexts])
        return [paillier.EncryptedNumber(self.public_key, c, e) for c, e in ciphertexts]


def make_cipher(kind: str, n_bits: int, obfuscation: str = "short-exponent", workers: int = 1) -> FastCipher:
    """A cipher by name: 'fast' or 'phe'."""
    if kind == "fast":
        return FastCipher(n_bits, obfuscation, workers)
    if kind == "phe":
        return PheCipher(n_bits)
    raise InvalidInput(f"cipher must be 'fast' or 'phe', not {kind!r}")
