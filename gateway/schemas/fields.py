"""Field types shared by the bodies: bounded, so a bad value is a 422, never an encoder crash."""

from __future__ import annotations

from typing import Annotated

from eth_utils import to_checksum_address
from pydantic import AfterValidator, Field

from ledger import protocol

Address = Annotated[
    str, Field(pattern=r"^0x[0-9a-fA-F]{40}$", description="An Ethereum address"), AfterValidator(to_checksum_address)
]
Hash32 = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$", description="32 bytes as 0x-hex")]
Uint256 = Annotated[int, Field(ge=0, lt=2**256)]
Uint64 = Annotated[int, Field(ge=0, lt=2**64)]
JobKind = Annotated[
    int,
    Field(
        ge=min(protocol.JobKind),
        le=max(protocol.JobKind),
        description=", ".join(f"{kind.value} {kind.name}" for kind in protocol.JobKind),
    ),
]


def hex32(value: str) -> bytes:
    """The bytes of a validated Hash32."""
    return bytes.fromhex(value[2:])


def show(value: bytes | bytearray) -> str:
    """Bytes as 0x-hex."""
    return "0x" + bytes(value).hex()
