"""Parsing JSON-RPC parameters strictly: hex quantities, data, addresses, block tags, calls."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_QUANTITY = re.compile(r"^0x(0|[1-9a-fA-F][0-9a-fA-F]*)$")
_DATA = re.compile(r"^0x([0-9a-fA-F]{2})*$")
BLOCK_TAGS = ("latest", "pending", "safe", "finalized", "earliest")


class InvalidParams(Exception):
    """A parameter has the wrong type or format (JSON-RPC -32602)."""


def quantity(value: Any, name: str) -> int:
    """A hex quantity ("0x1a") below 2**256; rejects ints, leading zeros and non-hex."""
    if not isinstance(value, str) or not _QUANTITY.match(value):
        raise InvalidParams(f"{name}: expected a hex quantity like 0x1a, got {_short(value)}")
    if len(value) > 66:
        raise InvalidParams(f"{name}: {len(value) - 2} hex digits, more than a 256-bit value holds")
    return int(value, 16)


def slot(value: Any, name: str) -> int:
    """A storage slot: a hex quantity or up to 32 bytes of hex data."""
    if isinstance(value, str) and _DATA.match(value) and len(value) > 2 and value[2] == "0":
        raw = data(value, name)
        if len(raw) > 32:
            raise InvalidParams(f"{name}: {len(raw)} bytes, a storage slot has at most 32")
        return int.from_bytes(raw, "big")
    return quantity(value, name)


def data(value: Any, name: str) -> bytes:
    """Hex data ("0x…", even length)."""
    if not isinstance(value, str) or not _DATA.match(value):
        raise InvalidParams(f"{name}: expected 0x-prefixed hex data, got {_short(value)}")
    return bytes.fromhex(value[2:])


def fixed(value: Any, name: str, size: int) -> bytes:
    """Hex data of exactly `size` bytes (addresses, hashes)."""
    raw = data(value, name)
    if len(raw) != size:
        raise InvalidParams(f"{name}: expected {size} bytes, got {len(raw)}")
    return raw


def address(value: Any, name: str) -> bytes:
    """A 20-byte address."""
    return fixed(value, name, 20)


def hash32(value: Any, name: str) -> bytes:
    """A 32-byte hash."""
    return fixed(value, name, 32)


def boolean(value: Any, name: str) -> bool:
    """A JSON boolean."""
    if not isinstance(value, bool):
        raise InvalidParams(f"{name}: expected true or false, got {_short(value)}")
    return value


@dataclass(frozen=True)
class BlockRef:
    """A block by tag, number or hash (EIP-1898)."""

    tag: str | None = None
    number: int | None = None
    hash: bytes | None = None


def block_ref(value: Any, name: str = "block") -> BlockRef:
    """A block tag, a hex number, or {"blockHash"|"blockNumber": …}."""
    if value is None:
        return BlockRef(tag="latest")
    if isinstance(value, str) and value in BLOCK_TAGS:
        return BlockRef(tag=value)
    if isinstance(value, dict):
        if "blockHash" in value:
            return BlockRef(hash=hash32(value["blockHash"], f"{name}.blockHash"))
        if "blockNumber" in value:
            return block_ref(value["blockNumber"], f"{name}.blockNumber")
        raise InvalidParams(f"{name}: expected blockHash or blockNumber")
    return BlockRef(number=quantity(value, name))


@dataclass(frozen=True)
class CallArgs:
    """The fields of an eth_call / eth_estimateGas transaction object."""

    sender: bytes
    to: bytes
    data: bytes
    value: int
    gas: int | None


def call_args(value: Any) -> CallArgs:
    """Parse a call object: from, to, data/input, value, gas (fees are ignored: they are 0 here)."""
    if not isinstance(value, dict):
        raise InvalidParams(f"transaction: expected an object, got {_short(value)}")
    payload = value.get("input", value.get("data"))
    return CallArgs(
        sender=address(value["from"], "from") if value.get("from") else b"\x00" * 20,
        to=address(value["to"], "to") if value.get("to") else b"",
        data=data(payload, "input") if payload is not None else b"",
        value=quantity(value["value"], "value") if value.get("value") is not None else 0,
        gas=quantity(value["gas"], "gas") if value.get("gas") is not None else None,
    )


def arity(params: list[Any], required: int, optional: int = 0) -> list[Any]:
    """Check the number of positional params; pad optional ones with None."""
    if not isinstance(params, list):
        raise InvalidParams("params must be an array")
    if not required <= len(params) <= required + optional:
        want = str(required) if not optional else f"{required} to {required + optional}"
        raise InvalidParams(f"expected {want} params, got {len(params)}")
    return params + [None] * (required + optional - len(params))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
