"""Secure summation by pairwise masks (Bonawitz et al. 2017, without dropout recovery).

Stand-in for the project's secure-aggregation module until it lands: FedAvg calls only
`mask_vector` (client side) and `unmask_sum` (aggregator side). Each pair of clients derives
a shared seed from X25519 of their certified transport keys; for a context (job, round,
coalition) client i adds PRG(seed_ij, context) for every peer j > i and subtracts it for
every j < i, over Z_2^64 after fixed-point encoding. The masks cancel in the sum only, so the
aggregator learns the sum and nothing else about any one vector (semi-honest, no dropouts:
a missing client makes the sum unrecoverable and the run aborts).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from compute.errors import EncodingOverflow
from compute.party import Party, PartyIdentity

SCALE = 2.0**32  # fixed point: 32 fractional bits, |value| < 2^31 leaves room for sums of many clients
_LIMIT = 2.0**30


def _pair_seed(me: Party, peer: PartyIdentity) -> bytes:
    shared = me.transport_private.exchange(peer.public_key())
    low, high = sorted([me.address, peer.address])
    return hashlib.sha256(b"custos/pairwise-mask/v1" + shared + low.encode() + high.encode()).digest()


def _prg(seed: bytes, context: bytes, size: int) -> np.ndarray:
    stream = hashlib.shake_256(seed + context).digest(8 * size)
    return np.frombuffer(stream, dtype="<u8").copy()


def encode(vector: np.ndarray) -> np.ndarray:
    """Fixed-point encoding into Z_2^64 (two's complement)."""
    values = np.asarray(vector, dtype=np.float64)
    if not np.all(np.isfinite(values)) or np.any(np.abs(values) >= _LIMIT):
        raise EncodingOverflow(f"update values must be finite and below {_LIMIT:g} in magnitude")
    return np.rint(values * SCALE).astype(np.int64).view(np.uint64)


def mask_vector(me: Party, members: Sequence[PartyIdentity], context: bytes, vector: np.ndarray) -> np.ndarray:
    """My vector plus my pairwise masks with the other `members` (which include me) for `context`."""
    masked = encode(vector)
    for peer in members:
        if peer.address == me.address:
            continue
        mask = _prg(_pair_seed(me, peer), context, masked.size)
        masked = masked + mask if me.address < peer.address else masked - mask  # uint64 wraps mod 2^64
    return masked


def unmask_sum(masked: Sequence[np.ndarray]) -> np.ndarray:
    """The sum of the members' vectors: masks cancel mod 2^64."""
    total = np.zeros_like(masked[0])
    for vector in masked:
        total = total + vector
    return total.view(np.int64).astype(np.float64) / SCALE
