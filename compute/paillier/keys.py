"""Paillier key pairs (phe's, so phe's own algebra and tests apply) and ciphertext range checks.

phe decrypts any integer it is given, including c ≥ n² or c sharing a factor with n, into
garbage without complaint; every ciphertext that enters this layer from outside is checked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import gmpy2
from phe import paillier

from compute.errors import InvalidInput


class CiphertextOutOfRange(InvalidInput):
    """A ciphertext outside [1, n²) or not a unit mod n²: not something Paillier produces."""


class KeyMismatch(InvalidInput):
    """Values encrypted under different public keys were combined."""


@dataclass(frozen=True)
class Keypair:
    """A phe public/private key pair."""

    public: paillier.PaillierPublicKey
    private: paillier.PaillierPrivateKey


def generate_keypair(n_bits: int = 2048) -> Keypair:
    """A fresh key pair with an `n_bits` modulus (phe's generator: two random primes of n_bits/2)."""
    if n_bits < 256 or n_bits % 8:
        raise InvalidInput(f"a Paillier modulus of {n_bits} bits is refused: use a multiple of 8, at least 256")
    public, private = paillier.generate_paillier_keypair(n_length=n_bits)
    return Keypair(public, private)


def check_ciphertexts(
    public_key: paillier.PaillierPublicKey, ciphertexts: Iterable[int], *, units: bool = False
) -> None:
    """Raise CiphertextOutOfRange unless every ciphertext is in [1, n²) (and, if `units`, coprime to n)."""
    nsquare = public_key.nsquare
    n = public_key.n
    for index, c in enumerate(ciphertexts):
        if not 0 < c < nsquare:
            raise CiphertextOutOfRange(f"ciphertext {index} is outside [1, n²) for this key")
        if units and gmpy2.gcd(c, n) != 1:
            raise CiphertextOutOfRange(f"ciphertext {index} shares a factor with n")
