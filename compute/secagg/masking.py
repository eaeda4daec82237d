"""The maths of secure aggregation (Bonawitz et al., CCS 2017), without any I/O.

Security assumption: semi-honest clients and server, at most threshold − 1 of them
colluding; X25519 key agreement is hard (CDH) and AES-256-CTR is a secure PRG. Vectors live
in Z_2^64 (numpy uint64 wraps for free). Client u sends
    y_u = x_u + PRG(b_u) + Σ_{v ∈ U2, u < v} PRG(s_uv) − Σ_{v ∈ U2, v < u} PRG(s_uv),
where s_uv comes from X25519 between u's and v's mask keys and b_u is u's self-mask seed;
both its mask private key and b_u are Shamir-shared among the clients. To unmask, each
surviving client reveals, for every other client, either its share of b (if that client's
masked input was accepted, U3) or its share of the mask key (if it dropped, U2 \\ U3),
never both: a client declared dropped that arrives late can never be unmasked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from compute.errors import EncodingOverflow

_ZERO_IV = b"\x00" * 16


def prg(seed: bytes, dim: int) -> np.ndarray:
    """`dim` pseudo-random uint64 words: the AES-256-CTR keystream under `seed`."""
    encryptor = Cipher(algorithms.AES(seed), modes.CTR(_ZERO_IV)).encryptor()
    return np.frombuffer(encryptor.update(bytes(8 * dim)), dtype=np.uint64)


def pair_seed(private: X25519PrivateKey, peer_public: bytes, index_a: int, index_b: int) -> bytes:
    """The seed two clients share: HKDF of their X25519 secret, bound to their (sorted) indices."""
    lo, hi = sorted((index_a, index_b))
    info = b"custos/secagg/pair/v1" + lo.to_bytes(4, "big") + hi.to_bytes(4, "big")
    return HKDF(hashes.SHA256(), 32, salt=None, info=info).derive(
        private.exchange(X25519PublicKey.from_public_bytes(peer_public))
    )


def encode_vector(values: np.ndarray, fraction_bits: int, parties: int, owner: str = "this client") -> np.ndarray:
    """Fixed-point ints in Z_2^64; EncodingOverflow if n such values could wrap the signed range, or if
    `fraction_bits` is 0 and a float entry is not integral (that would round it silently)."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise EncodingOverflow("secure aggregation takes one-dimensional vectors")
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)):
            raise EncodingOverflow(f"the vector of {owner} has NaN or infinite entries")
        if fraction_bits == 0 and not np.all(array == np.rint(array)):
            raise EncodingOverflow(
                f"the vector of {owner} holds non-integral floats but fraction_bits is 0: they would be rounded;"
                " give fraction_bits > 0 (or leave it unset for the float default)"
            )
        scaled = np.rint(array * float(1 << fraction_bits))
    elif array.dtype.kind in "iu" and fraction_bits == 0 and array.dtype.itemsize <= 8 and array.dtype != np.uint64:
        scaled = array.astype(np.int64)
    elif array.dtype.kind in "iu":
        scaled = array.astype(object) * (1 << fraction_bits) if array.size else array
    else:
        raise EncodingOverflow(f"cannot encode a vector of {array.dtype}")
    limit = (1 << 63) // max(parties, 1)
    if array.size and max(abs(int(np.max(scaled))), abs(int(np.min(scaled)))) >= limit:
        raise EncodingOverflow(
            f"the entries of {owner} must stay below 2^63/{parties} after scaling by 2^{fraction_bits}"
        )
    return np.asarray(scaled, dtype=np.int64).view(np.uint64)


def decode_vector(total: np.ndarray, fraction_bits: int) -> np.ndarray:
    """Signed fixed-point sum back to ints (fraction_bits = 0) or floats."""
    signed = total.view(np.int64)
    return signed.copy() if fraction_bits == 0 else signed / float(1 << fraction_bits)


def masked_input(x: np.ndarray, self_seed: bytes, me: int, pair_seeds: Mapping[int, bytes]) -> np.ndarray:
    """y_u: the encoded input plus its self mask and the signed pairwise masks."""
    y = x.copy()
    y += prg(self_seed, len(x))
    for peer, seed in pair_seeds.items():
        if me < peer:
            y += prg(seed, len(x))
        else:
            y -= prg(seed, len(x))
    return y


def unmask(
    masked: Mapping[int, np.ndarray],
    self_seeds: Mapping[int, bytes],
    dropped_pair_seeds: Iterable[tuple[int, int, bytes]],
    dim: int,
) -> np.ndarray:
    """Σ y_u over U3, minus the survivors' self masks and the masks they shared with dropped clients.

    `dropped_pair_seeds` yields (survivor u, dropped d, s_ud) for every u ∈ U3 and d ∈ U2 \\ U3.
    """
    total = np.zeros(dim, dtype=np.uint64)
    for y in masked.values():
        total += y
    for seed in self_seeds.values():
        total -= prg(seed, dim)
    for survivor, dropped, seed in dropped_pair_seeds:
        if survivor < dropped:
            total -= prg(seed, dim)
        else:
            total += prg(seed, dim)
    return total


def unmask_shares(
    held: Mapping[int, tuple[int, int]], accepted: Sequence[int], dropped: Sequence[int]
) -> dict[str, dict[int, int]]:
    """One client's answer: b-shares for accepted clients, key shares for dropped ones, never both.

    `held` maps each client index to the (key share, b share) this client received from it.
    """
    overlap = set(accepted) & set(dropped)
    if overlap:
        raise ValueError(f"clients {sorted(overlap)} are both accepted and dropped")
    return {"b": {u: held[u][1] for u in accepted}, "key": {d: held[d][0] for d in dropped}}
