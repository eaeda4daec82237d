"""hetero-LR payloads on the wire: JSON, ciphertexts as hex, every parse failure blamed on its sender."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from compute.errors import InvalidInput, MalformedMessage, ProtocolViolation
from compute.fl.hetero_lr.cipher import FastCipher


def pack(value: Any) -> bytes:
    """JSON bytes."""
    return json.dumps(value, separators=(",", ":")).encode()


def unpack(data: bytes, sender: str, step: str) -> Any:
    """Parsed JSON; MalformedMessage naming the sender and step if it does not parse."""
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedMessage(sender, step, "payload is not JSON") from exc


def pack_vector(cipher: FastCipher, vector: Any) -> bytes:
    """An encrypted vector as JSON."""
    exponent, items = cipher.dump(vector)
    encode = (lambda c: format(c, "x")) if exponent is not None else (lambda p: [format(p[0], "x"), p[1]])
    return pack({"exponent": exponent, "c": [encode(c) for c in items]})


def unpack_vector(cipher: FastCipher, data: bytes, sender: str, step: str, length: int) -> Any:
    """A checked encrypted vector of `length` elements from `sender`."""
    body = unpack(data, sender, step)
    try:
        exponent, items = body["exponent"], body["c"]
        if exponent is None:
            parsed: list[Any] = [[int(c, 16), int(e)] for c, e in items]
        else:
            parsed = [int(c, 16) for c in items]
            exponent = int(exponent)
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedMessage(sender, step, "not an encrypted vector") from exc
    if len(parsed) != length:
        raise ProtocolViolation(sender, step, f"sent {len(parsed)} ciphertexts, {length} expected")
    try:
        return cipher.load(exponent, parsed)
    except InvalidInput as exc:
        raise ProtocolViolation(sender, step, str(exc)) from exc


def unpack_floats(data: bytes, sender: str, step: str, length: int) -> np.ndarray:
    """A finite float vector of `length` from `sender`."""
    try:
        values = np.asarray(unpack(data, sender, step), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MalformedMessage(sender, step, "not a list of numbers") from exc
    if values.shape != (length,) or not np.all(np.isfinite(values)):
        raise ProtocolViolation(sender, step, f"expected {length} finite numbers")
    return values
