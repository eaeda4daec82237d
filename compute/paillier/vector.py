"""Vectors of Paillier ciphertexts sharing one exponent, and their batch encryptor/decryptor.

A vector element is the phe ciphertext of m with value m · 16^exponent; `to_phe` gives the
`phe.EncryptedNumber` objects, so phe's decryption and algebra agree with this layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import gmpy2
import numpy as np
from phe import paillier

from compute.errors import InvalidInput
from compute.paillier.encoding import BASE, DEFAULT_EXPONENT, decode, encode, from_residues, to_residues
from compute.paillier.keys import KeyMismatch, check_ciphertexts
from compute.paillier.multiexp import multi_power
from compute.paillier.obfuscation import FreshObfuscation, Obfuscation
from compute.paillier.parallel import map_chunks, split


class EncryptedVector:
    """Paillier ciphertexts of m_i under one public key, with values m_i · 16^exponent."""

    def __init__(self, public_key: paillier.PaillierPublicKey, ciphertexts: Sequence[int], exponent: int) -> None:
        self.public_key = public_key
        self.ciphertexts = [gmpy2.mpz(c) for c in ciphertexts]
        self.exponent = exponent

    @classmethod
    def from_phe(cls, numbers: Sequence[paillier.EncryptedNumber]) -> EncryptedVector:
        """Checked conversion from phe ciphertexts (one key, one exponent after alignment)."""
        if not numbers:
            raise InvalidInput("an encrypted vector needs at least one ciphertext")
        key = numbers[0].public_key
        exponent = min(x.exponent for x in numbers)
        aligned = [x.decrease_exponent_to(exponent) if x.exponent != exponent else x for x in numbers]
        if any(x.public_key != key for x in aligned):
            raise KeyMismatch("phe ciphertexts under different public keys")
        raw = [x.ciphertext(be_secure=False) for x in aligned]
        check_ciphertexts(key, raw)
        return cls(key, raw, exponent)

    def to_phe(self) -> list[paillier.EncryptedNumber]:
        """The same ciphertexts as phe EncryptedNumbers."""
        return [paillier.EncryptedNumber(self.public_key, int(c), self.exponent) for c in self.ciphertexts]

    def __len__(self) -> int:
        return len(self.ciphertexts)

    def _same_key(self, other: EncryptedVector) -> None:
        if other.public_key.n != self.public_key.n:
            raise KeyMismatch("encrypted vectors under different public keys")
        if len(other) != len(self):
            raise InvalidInput(f"encrypted vectors of lengths {len(self)} and {len(other)}")

    def with_exponent(self, exponent: int) -> EncryptedVector:
        """The same values at a lower (finer) exponent: each m multiplied by 16^(old − new)."""
        if exponent > self.exponent:
            raise InvalidInput("an exponent can only be lowered without losing precision")
        if exponent == self.exponent:
            return self
        factor, nsquare = BASE ** (self.exponent - exponent), gmpy2.mpz(self.public_key.nsquare)
        return EncryptedVector(self.public_key, [gmpy2.powmod(c, factor, nsquare) for c in self.ciphertexts], exponent)

    def __add__(self, other: EncryptedVector) -> EncryptedVector:
        self._same_key(other)
        exponent = min(self.exponent, other.exponent)
        a, b = self.with_exponent(exponent), other.with_exponent(exponent)
        nsquare = gmpy2.mpz(self.public_key.nsquare)
        return EncryptedVector(
            self.public_key, [x * y % nsquare for x, y in zip(a.ciphertexts, b.ciphertexts)], exponent
        )

    def add_encoded(self, signed: Sequence[int]) -> EncryptedVector:
        """Add plaintext integers at this vector's exponent (masks, pre-encoded values)."""
        if len(signed) != len(self):
            raise InvalidInput(f"{len(signed)} plaintexts for {len(self)} ciphertexts")
        n, nsquare = gmpy2.mpz(self.public_key.n), gmpy2.mpz(self.public_key.nsquare)
        residues = to_residues(list(signed), int(n), self.public_key.max_int)
        return EncryptedVector(
            self.public_key, [c * (1 + m * n) % nsquare for c, m in zip(self.ciphertexts, residues)], self.exponent
        )

    def add_plain(self, values: np.ndarray) -> EncryptedVector:
        """Add plaintext floats (encoded at this vector's exponent)."""
        return self.add_encoded(encode(values, self.exponent))

    def mul_plain(self, values: np.ndarray | float, exponent: int) -> EncryptedVector:
        """Multiply element-wise by plaintext floats encoded at `exponent` (small signed integers)."""
        scalars = encode(np.broadcast_to(np.asarray(values, dtype=np.float64), (len(self),)), exponent)
        nsquare = gmpy2.mpz(self.public_key.nsquare)
        out = []
        for c, k in zip(self.ciphertexts, scalars):
            out.append(gmpy2.powmod(c, k, nsquare) if k >= 0 else gmpy2.powmod(gmpy2.invert(c, nsquare), -k, nsquare))
        return EncryptedVector(self.public_key, out, self.exponent + exponent)

    def rmatmul(self, matrix: np.ndarray, exponent: int = -4, workers: int = 1) -> EncryptedVector:
        """Xᵀ·self for a plaintext rows×d matrix X encoded at `exponent`: d ciphertexts."""
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[0] != len(self):
            raise InvalidInput(f"matrix of shape {matrix.shape} cannot multiply {len(self)} ciphertexts")
        encoded = np.asarray(encode(matrix.T, exponent), dtype=np.int64).reshape(matrix.shape[1], matrix.shape[0])
        columns = list(range(matrix.shape[1]))
        nsquare = gmpy2.mpz(self.public_key.nsquare)
        ciphertexts = self.ciphertexts

        inverses = [gmpy2.invert(c, nsquare) for c in ciphertexts] if np.any(encoded < 0) else ciphertexts

        def column_products(chunk: Sequence[int]) -> list[gmpy2.mpz]:
            out = []
            for j in chunk:
                row = encoded[j].tolist()
                # a negative entry uses c^-1 with |k|, so every exponent stays small (phe would use n − |k|)
                bases = [c if k >= 0 else inv for c, inv, k in zip(ciphertexts, inverses, row)]
                out.append(multi_power(bases, [abs(k) for k in row], nsquare))
            return out

        chunks = [columns[i::workers] for i in range(workers)] if workers > 1 and len(columns) > 1 else [columns]
        parts = map_chunks(lambda chunk: [column_products(chunk)], chunks, workers)
        result: list[gmpy2.mpz] = [gmpy2.mpz(0)] * len(columns)
        for chunk, part in zip(chunks, parts):
            for j, c in zip(chunk, part):
                result[j] = c
        return EncryptedVector(self.public_key, result, self.exponent + exponent)

    def total(self) -> EncryptedVector:
        """The encrypted sum of all elements (a vector of one)."""
        nsquare = gmpy2.mpz(self.public_key.nsquare)
        acc = gmpy2.mpz(1)
        for c in self.ciphertexts:
            acc = acc * c % nsquare
        return EncryptedVector(self.public_key, [acc], self.exponent)

    def rerandomize(self, obfuscation: Obfuscation, workers: int = 1) -> EncryptedVector:
        """The same plaintexts under fresh obfuscators (unlinkable to these ciphertexts)."""
        nsquare = gmpy2.mpz(self.public_key.nsquare)
        obfuscators = obfuscation.take(len(self), workers)
        return EncryptedVector(
            self.public_key, [c * r % nsquare for c, r in zip(self.ciphertexts, obfuscators)], self.exponent
        )


class Encryptor:
    """Batch encryption under one public key; fresh obfuscation unless told otherwise."""

    def __init__(
        self, public_key: paillier.PaillierPublicKey, obfuscation: Obfuscation | None = None, workers: int = 1
    ) -> None:
        self.public_key = public_key
        self.obfuscation = obfuscation if obfuscation is not None else FreshObfuscation(public_key)
        self.workers = max(1, workers)

    def encrypt_encoded(self, signed: Sequence[int], exponent: int) -> EncryptedVector:
        """Encrypt signed integers m (values m · 16^exponent)."""
        n, nsquare = gmpy2.mpz(self.public_key.n), gmpy2.mpz(self.public_key.nsquare)
        residues = to_residues(list(signed), int(n), self.public_key.max_int)
        obfuscators = self.obfuscation.take(len(residues), self.workers)
        # g = n + 1, so g^m = 1 + m·n mod n²: no exponentiation for the message part
        return EncryptedVector(
            self.public_key, [(1 + m * n) * r % nsquare for m, r in zip(residues, obfuscators)], exponent
        )

    def encrypt(self, values: np.ndarray, exponent: int = DEFAULT_EXPONENT) -> EncryptedVector:
        """Encrypt floats at a fixed exponent."""
        return self.encrypt_encoded(encode(values, exponent), exponent)


class Decryptor:
    """CRT decryption of whole vectors, with range checks, over `workers` processes."""

    def __init__(self, private_key: paillier.PaillierPrivateKey, workers: int = 1) -> None:
        self.private_key = private_key
        self.workers = max(1, workers)
        k = private_key
        self._p, self._q = gmpy2.mpz(k.p), gmpy2.mpz(k.q)
        self._psquare, self._qsquare = gmpy2.mpz(k.psquare), gmpy2.mpz(k.qsquare)
        self._hp, self._hq, self._p_inverse = gmpy2.mpz(k.hp), gmpy2.mpz(k.hq), gmpy2.mpz(k.p_inverse)

    def _decrypt_chunk(self, ciphertexts: Sequence[gmpy2.mpz]) -> list[int]:
        p, q, psq, qsq = self._p, self._q, self._psquare, self._qsquare
        out = []
        for c in ciphertexts:
            mp = (gmpy2.powmod(c % psq, p - 1, psq) - 1) // p * self._hp % p
            mq = (gmpy2.powmod(c % qsq, q - 1, qsq) - 1) // q * self._hq % q
            out.append(int(mp + ((mq - mp) * self._p_inverse % q) * p))
        return out

    def decrypt_residues(self, vector: EncryptedVector) -> list[int]:
        """Plaintexts in Z_n, after checking every ciphertext is a unit in [1, n²) of this key."""
        if vector.public_key.n != self.private_key.public_key.n:
            raise KeyMismatch("ciphertexts were not made under this private key's public key")
        check_ciphertexts(vector.public_key, vector.ciphertexts, units=True)
        return map_chunks(self._decrypt_chunk, split(vector.ciphertexts, self.workers), self.workers)

    def decrypt_signed(self, vector: EncryptedVector) -> list[int]:
        """Signed plaintext integers m (values m · 16^exponent)."""
        key = self.private_key.public_key
        return from_residues(self.decrypt_residues(vector), key.n, key.max_int)

    def decrypt(self, vector: EncryptedVector) -> np.ndarray:
        """Plaintext floats."""
        return decode(self.decrypt_signed(vector), vector.exponent)
