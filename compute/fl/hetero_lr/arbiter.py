"""The arbiter: holds the Paillier private key, decrypts masked gradients and nothing else.

It never receives features, labels, residuals or partial scores, only packed [[g + r]] with
masks r chosen by the party that owns g, so every slot it decrypts is statistically uniform.
Security assumption (FATE's): semi-honest parties, the arbiter colluding with nobody.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from compute.channel import Channel
from compute.errors import ProtocolViolation
from compute.fl.hetero_lr.cipher import FastCipher
from compute.fl.hetero_lr.wire import pack, pack_vector, unpack, unpack_vector
from compute.paillier.vector import EncryptedVector
from compute.party import Address
from compute.result import hash_result
from compute.session import Role, RoleOutput

PUBLIC_KEY = "public-key"
MASKED_GRADIENT = "masked-gradient"
GRADIENT = "gradient"
RESULT = "result"
EPOCH_END = "epoch-end"


def arbiter_role(
    cipher: FastCipher,
    guest: Address,
    hosts: Sequence[Address],
    feature_counts: Sequence[int],
    epochs: int,
    record_decryptions: bool = False,
) -> Role:
    """The key holder: `feature_counts[i]` is the gradient length of party i in [guest, *hosts].

    It decrypts every party's masked gradient of the starting pass; then, per iteration, of
    the probe pass, the guest's masked validation loss (one value), and takes the guest's
    decision to go on or stop.
    """
    parties = [guest, *hosts]

    def role(ch: Channel) -> RoleOutput:
        n = cipher.keygen()
        for party in parties:
            ch.send(party, PUBLIC_KEY, pack({"n": format(n, "x")}))
        seen: list[list[int]] = []

        def serve(party: Address, length: int) -> None:
            masked = unpack_vector(
                cipher, ch.recv(party, MASKED_GRADIENT), party, MASKED_GRADIENT, cipher.packed_length(length)
            )
            residues = cipher.decrypt_residues(masked)
            if record_decryptions:
                seen.append([int(v) for v in residues])
            ch.send(party, GRADIENT, pack([format(int(v), "x") if isinstance(v, int) else float(v) for v in residues]))

        for party, length in zip(parties, feature_counts):
            serve(party, length)  # the starting pass
        for _ in range(epochs):
            for party, length in zip(parties, feature_counts):
                serve(party, length)
            serve(guest, 1)  # the validation loss
            if epoch_stop(ch, guest):
                break
        result = unpack(ch.recv(guest, RESULT), guest, RESULT)
        return RoleOutput({"result": result}, hash_result(result), metadata={"decrypted": seen, "n": n})

    return role


def epoch_stop(ch: Channel, guest: Address) -> bool:
    """Whether the guest's end-of-epoch decision says stop."""
    body = unpack(ch.recv(guest, EPOCH_END), guest, EPOCH_END)
    if not isinstance(body, dict) or not isinstance(body.get("stop"), bool):
        raise ProtocolViolation(guest, EPOCH_END, "expected {improved: bool, stop: bool, beta: number}")
    return bool(body["stop"])


def request_gradient(
    ch: Channel, cipher: FastCipher, arbiter: Address, encrypted: EncryptedVector, length: int
) -> np.ndarray:
    """Mask (and pack) [[g]], have the arbiter decrypt it, unmask: g in plaintext for its owner only."""
    masked, masks = cipher.mask(encrypted)
    ch.send(arbiter, MASKED_GRADIENT, pack_vector(cipher, masked))
    body = unpack(ch.recv(arbiter, GRADIENT), arbiter, GRADIENT)
    expected = cipher.packed_length(length)
    if not isinstance(body, list) or len(body) != expected:
        raise ProtocolViolation(
            arbiter, GRADIENT, f"returned {len(body) if isinstance(body, list) else 'no'} values for {expected}"
        )
    values = [int(v, 16) if isinstance(v, str) else float(v) for v in body]
    exponent = getattr(masked, "exponent", 0)
    return cipher.unmask(values, masks, exponent)  # type: ignore[arg-type]  # floats only for the float-masking cipher
