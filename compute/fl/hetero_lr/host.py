"""A host: holds some features for the aligned ids and its own share of the model.

It sends [[X_h w_h]] (under the arbiter's key) to the guest, receives [[d]] (the residual,
encrypted: it never sees labels or residuals in plaintext), computes [[X_hᵀ d]], and learns
its own gradient through a masked decryption by the arbiter.
"""

from __future__ import annotations

import secrets

import numpy as np
from eth_utils import keccak

from compute.channel import Channel
from compute.errors import MalformedMessage, ProtocolViolation
from compute.fl.hetero_lr.arbiter import PUBLIC_KEY, RESULT, request_gradient
from compute.fl.hetero_lr.cipher import FastCipher
from compute.fl.hetero_lr.schedule import HeteroLRParams, batch_count, batches
from compute.fl.hetero_lr.wire import pack, pack_vector, unpack, unpack_vector
from compute.party import Address
from compute.result import hash_result
from compute.session import Role, RoleOutput

HOST_FORWARD = "host-forward"
RESIDUAL = "residual"
PREDICT_FORWARD = "predict-forward"
MODEL_COMMITMENT = "model-commitment"
READY = "ready"


def commit_model(weights: np.ndarray, salt: bytes) -> str:
    """keccak256(salt ‖ weights as big-endian float64): a binding, hiding commitment to a model share."""
    return keccak(salt + np.asarray(weights, dtype=">f8").tobytes()).hex()


def receive_public_key(ch: Channel, cipher: FastCipher, arbiter: Address, encryptions: int) -> None:
    """Take the arbiter's public key and prepare encryption (offline precomputation, if configured)."""
    body = unpack(ch.recv(arbiter, PUBLIC_KEY), arbiter, PUBLIC_KEY)
    try:
        n = int(body["n"], 16)
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedMessage(arbiter, PUBLIC_KEY, "no modulus") from exc
    if n.bit_length() < 256 or n % 2 == 0:
        raise ProtocolViolation(
            arbiter, PUBLIC_KEY, f"a {n.bit_length()}-bit even or tiny modulus is not a Paillier key"
        )
    cipher.bind(n, encryptions)


def host_role(
    cipher: FastCipher, features: np.ndarray, guest: Address, arbiter: Address, params: HeteroLRParams
) -> Role:
    """One host's part of training and joint prediction."""
    rows, width = features.shape

    def role(ch: Channel) -> RoleOutput:
        receive_public_key(ch, cipher, arbiter, batch_count(rows, params) * params.batch_size)
        ch.send(guest, READY, b"{}")  # offline work done: the guest times epochs from here
        weights = np.zeros(width)
        for _, batch in batches(rows, params):
            X = features[batch]
            ch.send(guest, HOST_FORWARD, pack_vector(cipher, cipher.encrypt(X @ weights)))
            residual = unpack_vector(cipher, ch.recv(guest, RESIDUAL), guest, RESIDUAL, len(batch))
            gradient = request_gradient(ch, cipher, arbiter, cipher.rmatmul(residual, X), width)
            weights = weights - params.learning_rate * (gradient / len(batch) + params.l2 * weights)
        ch.send(guest, PREDICT_FORWARD, pack((features @ weights).tolist()))
        salt = secrets.token_bytes(32)
        commitment = commit_model(weights, salt)
        ch.send(guest, MODEL_COMMITMENT, pack(commitment))
        result = unpack(ch.recv(guest, RESULT), guest, RESULT)
        if not isinstance(result, dict) or commitment not in result.get("model_commitments", {}).values():
            raise ProtocolViolation(guest, RESULT, "the result omits this host's model commitment")
        return RoleOutput(
            {"weights": weights, "salt": salt, "result": result},
            hash_result(result),
            metadata={"rows": rows, "offline_seconds": cipher.offline_seconds},
        )

    return role
