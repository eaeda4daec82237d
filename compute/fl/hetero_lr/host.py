"""A host: holds some features for the aligned ids and its own share of the model.

Per pass it sends [[X_h q_h]] (under the arbiter's key) to the guest chunk by chunk, receives
[[d]] (the residual, encrypted: it never sees labels or residuals in plaintext), sums
[[X_hᵀ d]] and learns its own gradient through a masked decryption by the arbiter. Between
passes it exchanges with the guest only the scalars of conjugate gradients (its pᵀHp and
rᵀz; the guest's α and β), and takes part in the encrypted validation loss.
"""

from __future__ import annotations

import secrets

import numpy as np
from eth_utils import keccak

from compute.channel import Channel
from compute.errors import MalformedMessage, ProtocolViolation
from compute.fl.hetero_lr.arbiter import EPOCH_END, PUBLIC_KEY, RESULT, request_gradient
from compute.fl.hetero_lr.cipher import FastCipher
from compute.fl.hetero_lr.schedule import HOST_CURVATURE, HeteroLRParams, PCGBlock, chunks, l2_of, split_rows
from compute.fl.hetero_lr.validation import host_validation_share
from compute.fl.hetero_lr.wire import pack, pack_vector, unpack, unpack_vector
from compute.party import Address
from compute.result import hash_result
from compute.session import Role, RoleOutput

HOST_FORWARD = "host-forward"
RESIDUAL = "residual"
PREDICT_FORWARD = "predict-forward"
MODEL_COMMITMENT = "model-commitment"
READY = "ready"
PCG_SCALAR = "pcg-scalar"
PCG_STEP = "pcg-step"


def epoch_decision(ch: Channel, guest: Address) -> tuple[bool, bool, float]:
    """The guest's (improved, stop, β) after an iteration."""
    body = unpack(ch.recv(guest, EPOCH_END), guest, EPOCH_END)
    if not isinstance(body, dict) or not all(isinstance(body.get(k), bool) for k in ("improved", "stop")):
        raise MalformedMessage(guest, EPOCH_END, "expected {improved: bool, stop: bool, beta: number}")
    return body["improved"], body["stop"], receive_float(body.get("beta"), guest, EPOCH_END)


def receive_float(value: object, sender: Address, step: str) -> float:
    """A finite number from `sender`, or ProtocolViolation."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise ProtocolViolation(sender, step, f"expected a finite number, got {value!r}")
    return float(value)


def receive_number(ch: Channel, sender: Address, step: str) -> float:
    """Receive one finite number at `step`."""
    return receive_float(unpack(ch.recv(sender, step), sender, step), sender, step)


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
        split = split_rows(rows, params)
        receive_public_key(ch, cipher, arbiter, rows)
        ch.send(guest, READY, b"{}")  # offline work done: the guest times iterations from here
        t = split.train
        block = PCGBlock(features[t], np.zeros(width), HOST_CURVATURE, l2_of(params, split), np.ones(width))

        def gradient_at(point: np.ndarray) -> np.ndarray:
            total = None
            for chunk in chunks(split, params):
                X = features[chunk]
                ch.send(guest, HOST_FORWARD, pack_vector(cipher, cipher.encrypt(X @ point)))
                residual = unpack_vector(cipher, ch.recv(guest, RESIDUAL), guest, RESIDUAL, len(chunk))
                part = cipher.rmatmul(residual, X)
                total = part if total is None else cipher.add(total, part)
            assert total is not None  # chunks() yields at least one chunk: the split is never empty
            return block.gradient(request_gradient(ch, cipher, arbiter, total, width), len(t), point)

        ch.send(guest, PCG_SCALAR, pack(block.start(gradient_at(block.weights))))
        weights = block.weights
        for _ in range(params.epochs):
            ch.send(guest, PCG_SCALAR, pack(block.curvature(gradient_at(block.probe()))))
            ch.send(guest, PCG_SCALAR, pack(block.advance(receive_number(ch, guest, PCG_STEP))))
            host_validation_share(ch, cipher, guest, features[split.validation] @ block.weights)
            improved, stop, beta = epoch_decision(ch, guest)
            if improved:
                weights = block.weights
            if stop:
                break
            block.turn(beta)
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
