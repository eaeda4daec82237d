"""Hashing ids to Curve25519 as RFC 9380 specifies: suite curve25519_XMD:SHA-512_ELL2_NU_.

`encode_to_u(msg, dst)` is RFC 9380's `encode_to_curve` for curve25519 (expand_message_xmd with
SHA-512, hash_to_field with L = 48, Elligator 2 with Z = 2), returning the Montgomery
u-coordinate of Q = map_to_curve(u) as X25519 takes it (32 bytes, little-endian). The RFC's last
step, clear_cofactor (P = 8·Q), is left to X25519 itself: its clamped scalars are multiples of 8,
so X25519(8k', Q) = [k']P, the same Diffie–Hellman value on the standard point. Only the
u-coordinate is computed (X25519 is x-only), so the sign of y is not needed. Pure functions;
tests check the RFC's test vectors (Appendix J.7.2) for Q and, after three x-only doublings, P.
"""

from __future__ import annotations

import hashlib

import gmpy2

P = 2**255 - 19
A = 486662  # the Montgomery coefficient J (K = 1)
Z = 2  # Elligator 2's non-square for curve25519
_L = 48  # ceil((ceil(log2(p)) + k) / 8) with k = 128
_MP = gmpy2.mpz(P)
_ZERO_PAD = hashlib.sha512(bytes(128))  # Z_pad, hashed once; each message continues a copy


def expand_message_xmd(msg: bytes, dst: bytes, length: int) -> bytes:
    """RFC 9380 §5.3.1 with SHA-512 (b_in_bytes = 64, s_in_bytes = 128)."""
    if len(dst) > 255 or length > 255 * 64:
        raise ValueError("DST longer than 255 bytes or output too long")
    dst_prime = dst + bytes([len(dst)])
    state = _ZERO_PAD.copy()
    state.update(msg + length.to_bytes(2, "big") + b"\x00" + dst_prime)
    b0 = state.digest()
    blocks = [hashlib.sha512(b0 + b"\x01" + dst_prime).digest()]
    while 64 * len(blocks) < length:
        mixed = bytes(x ^ y for x, y in zip(b0, blocks[-1]))
        blocks.append(hashlib.sha512(mixed + bytes([len(blocks) + 1]) + dst_prime).digest())
    return b"".join(blocks)[:length]


def map_to_u(u: int) -> int:
    """Elligator 2 (RFC 9380 §6.7.1) on curve25519: the u-coordinate of map_to_curve(u)."""
    w = gmpy2.mpz(u)
    tv = (1 + Z * w * w) % _MP
    x1 = (-A * gmpy2.invert(tv, _MP)) % _MP if tv else gmpy2.mpz(-A % P)
    gx1 = (x1 * (x1 * (x1 + A) + 1)) % _MP
    if gmpy2.jacobi(gx1, _MP) >= 0:  # gx1 is a square (Euler's criterion via the Jacobi symbol): x1 is on the curve
        return int(x1)
    return int((-x1 - A) % _MP)


def encode_to_u(msg: bytes, dst: bytes) -> bytes:
    """The X25519 input (little-endian u of Q) that RFC 9380's NU encoding gives `msg` under `dst`."""
    u = int.from_bytes(expand_message_xmd(msg, dst, _L), "big") % P
    return map_to_u(u).to_bytes(32, "little")


def double_u(x: int) -> int:
    """The u-coordinate of 2·(x, ·) on curve25519 (x-only doubling), for clearing the cofactor in tests."""
    num = (x * x - 1) ** 2 % P
    den = 4 * x * (x * x + A * x + 1) % P
    return num * int(gmpy2.invert(den, P)) % P
