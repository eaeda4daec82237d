"""A fast Paillier layer over python-paillier (`phe`) and gmpy2, for vectors of values.

Ciphertexts interoperate with `phe`: an `EncryptedVector` element is a phe ciphertext with
phe's base-16 exponent, so `phe.EncryptedNumber(public_key, c, exponent)` decrypts it and
phe's algebra (add, multiply by a plaintext) gives the same result. What this layer adds:
vectorised fixed-point encoding, obfuscators computed in bulk (fresh, precomputed offline,
or short-exponent), CRT decryption of whole vectors, range checks on every ciphertext that
is decrypted or combined, and work spread over processes. Fresh obfuscation is the default.
"""

from compute.paillier.encoding import DEFAULT_EXPONENT, decode, encode
from compute.paillier.keys import (
    CiphertextOutOfRange,
    KeyMismatch,
    Keypair,
    check_ciphertexts,
    generate_keypair,
)
from compute.paillier.obfuscation import (
    FreshObfuscation,
    Obfuscation,
    ObfuscatorsExhausted,
    PrecomputedObfuscation,
    ShortExponentObfuscation,
)
from compute.paillier.vector import Decryptor, EncryptedVector, Encryptor

__all__ = [
    "DEFAULT_EXPONENT",
    "CiphertextOutOfRange",
    "Decryptor",
    "EncryptedVector",
    "Encryptor",
    "FreshObfuscation",
    "KeyMismatch",
    "Keypair",
    "Obfuscation",
    "ObfuscatorsExhausted",
    "PrecomputedObfuscation",
    "ShortExponentObfuscation",
    "check_ciphertexts",
    "decode",
    "encode",
    "generate_keypair",
]
