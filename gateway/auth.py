"""EIP-712 request authentication: what a caller signs, and how the gateway checks it.

A request carries four headers: the caller's address, a Unix timestamp, a random 32-byte
nonce and a 65-byte signature. The signature is EIP-712 over the domain
(name "Custos Gateway", version "1", chainId, verifyingContract = Consortium) and the message
`Request(string method,string path,bytes32 bodyHash,address caller,address gateway,uint64 timestamp,bytes32 nonce)`,
where `path` is the raw request target as sent (path and query string), `bodyHash` is
keccak256 of the raw body bytes and `gateway` is the member the receiving gateway acts for
(its operator, from GET /domain). Binding the domain to the Consortium address stops a
signature made for one consortium from being replayed at another's; binding `gateway`
stops a request signed for one member's gateway from being replayed at another member's
gateway, whose nonce store never saw it.

This module is pure: freshness, replay and membership are checked by `deps.py` with the
clock, the nonce store and the membership lookup.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_utils import is_address, keccak, to_canonical_address, to_checksum_address

from gateway.errors import Unauthenticated
from ledger.signing import EIP712_DOMAIN_TYPE, address_of, recover_digest, sign_typed

CALLER_HEADER = "x-custos-caller"
TIMESTAMP_HEADER = "x-custos-timestamp"
NONCE_HEADER = "x-custos-nonce"
SIGNATURE_HEADER = "x-custos-signature"
AUTH_HEADERS = (CALLER_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER)

_TYPES = {
    "EIP712Domain": EIP712_DOMAIN_TYPE,
    "Request": [
        {"name": "method", "type": "string"},
        {"name": "path", "type": "string"},
        {"name": "bodyHash", "type": "bytes32"},
        {"name": "caller", "type": "address"},
        {"name": "gateway", "type": "address"},
        {"name": "timestamp", "type": "uint64"},
        {"name": "nonce", "type": "bytes32"},
    ],
}


_REQUEST_TYPE_HASH = keccak(
    text="Request(string method,string path,bytes32 bodyHash,address caller,address gateway,uint64 timestamp,"
    "bytes32 nonce)"
)
_DOMAIN_TYPE_HASH = keccak(
    text="EIP712Domain(" + ",".join(f"{f['type']} {f['name']}" for f in EIP712_DOMAIN_TYPE) + ")"
)


@dataclass(frozen=True)
class RequestDomain:
    """The EIP-712 domain of one consortium, and the gateway (its operator member) a request is for."""

    chain_id: int
    consortium: str
    gateway: str = "0x" + "00" * 20

    def as_eip712(self) -> dict[str, object]:
        """The domain as EIP-712 typed-data fields."""
        return {
            "name": "Custos Gateway",
            "version": "1",
            "chainId": self.chain_id,
            "verifyingContract": to_checksum_address(self.consortium),
        }


@dataclass(frozen=True)
class SignedHeaders:
    """The parsed authentication headers of one request."""

    caller: str
    timestamp: int
    nonce: bytes
    signature: bytes

    def as_headers(self) -> dict[str, str]:
        """The four HTTP headers that carry this signature."""
        return {
            CALLER_HEADER: self.caller,
            TIMESTAMP_HEADER: str(self.timestamp),
            NONCE_HEADER: "0x" + self.nonce.hex(),
            SIGNATURE_HEADER: "0x" + self.signature.hex(),
        }


def _typed_data(
    domain: RequestDomain, method: str, target: str, body: bytes, caller: str, timestamp: int, nonce: bytes
) -> dict[str, Any]:
    message = {
        "method": method.upper(),
        "path": target,
        "bodyHash": keccak(body),
        "caller": to_checksum_address(caller),
        "gateway": to_checksum_address(domain.gateway),
        "timestamp": timestamp,
        "nonce": nonce,
    }
    return {"types": _TYPES, "primaryType": "Request", "domain": domain.as_eip712(), "message": message}


@lru_cache(maxsize=64)
def _domain_separator(chain_id: int, consortium: str) -> bytes:
    return keccak(
        _DOMAIN_TYPE_HASH
        + keccak(b"Custos Gateway")
        + keccak(b"1")
        + chain_id.to_bytes(32, "big")
        + to_canonical_address(consortium).rjust(32, b"\x00")
    )


def request_digest(
    domain: RequestDomain, method: str, target: str, body: bytes, caller: str, timestamp: int, nonce: bytes
) -> bytes:
    """The EIP-712 digest of a request, hashed directly (the same bytes the generic encoder leads to).

    The gateway checks every request, so it skips the generic typed-data encoder and its
    validation: the struct is fixed, and a test pins this digest to `ledger.signing.typed_digest`.
    """
    struct = keccak(
        _REQUEST_TYPE_HASH
        + keccak(method.upper().encode())
        + keccak(target.encode())
        + keccak(body)
        + to_canonical_address(caller).rjust(32, b"\x00")
        + to_canonical_address(domain.gateway).rjust(32, b"\x00")
        + timestamp.to_bytes(32, "big")
        + nonce
    )
    return keccak(b"\x19\x01" + _domain_separator(domain.chain_id, domain.consortium) + struct)


def sign_request(
    private_key: bytes | str,
    domain: RequestDomain,
    method: str,
    target: str,
    body: bytes,
    timestamp: int,
    nonce: bytes | None = None,
) -> SignedHeaders:
    """Sign one request (method, raw target with query, body bytes) as the key's address."""
    address = address_of(private_key)
    nonce = secrets.token_bytes(32) if nonce is None else nonce
    signature = sign_typed(private_key, _typed_data(domain, method, target, body, address, timestamp, nonce))
    return SignedHeaders(address, timestamp, nonce, signature)


def _hex_bytes(value: str, length: int, header: str) -> bytes:
    text = value[2:] if value[:2] in ("0x", "0X") else value
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    if len(raw) != length:
        raise Unauthenticated("auth.malformed", f"Header {header} must be 0x followed by {length} bytes in hex.")
    return raw


def parse_headers(headers: Mapping[str, str]) -> SignedHeaders:
    """Read the four authentication headers, refusing missing or malformed ones."""
    missing = [name for name in AUTH_HEADERS if not headers.get(name)]
    if missing:
        raise Unauthenticated(
            "auth.missing",
            f"Unsigned request: missing {', '.join(missing)}. Sign requests with gateway.client.GatewayClient.",
        )
    caller = headers[CALLER_HEADER]
    if not is_address(caller):
        raise Unauthenticated("auth.malformed", f"Header {CALLER_HEADER} is not an Ethereum address.")
    stamp = headers[TIMESTAMP_HEADER]
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 19:
        raise Unauthenticated("auth.malformed", f"Header {TIMESTAMP_HEADER} must be Unix seconds.")
    return SignedHeaders(
        to_checksum_address(caller),
        int(stamp),
        _hex_bytes(headers[NONCE_HEADER], 32, NONCE_HEADER),
        _hex_bytes(headers[SIGNATURE_HEADER], 65, SIGNATURE_HEADER),
    )


def check_fresh(signed: SignedHeaders, now: float, window_seconds: int) -> None:
    """Refuse a request whose timestamp is more than the window away from now."""
    if abs(now - signed.timestamp) > window_seconds:
        raise Unauthenticated(
            "auth.stale",
            f"Request timestamp {signed.timestamp} is more than {window_seconds}s from the gateway's clock "
            f"({int(now)}); check your clock and sign a fresh request.",
        )


def check_signature(signed: SignedHeaders, domain: RequestDomain, method: str, target: str, body: bytes) -> None:
    """Refuse a signature that does not recover to the claimed caller over this exact request."""
    if not 0 <= signed.timestamp < 2**64:
        raise Unauthenticated("auth.malformed", f"Header {TIMESTAMP_HEADER} is out of range.")
    digest = request_digest(domain, method, target, body, signed.caller, signed.timestamp, signed.nonce)
    v = signed.signature[64]
    try:  # wallets sign with v in {27, 28}; the recovery takes {0, 1}
        signer: str | None = recover_digest(digest, signed.signature[:64] + bytes([v - 27 if v >= 27 else v]))
    except Exception:  # eth-keys raises several types for an unusable signature; all mean the same here
        signer = None
    if signer != signed.caller:
        raise Unauthenticated(
            "auth.bad_signature",
            "The signature does not match the caller over this method, path, body and nonce "
            "(wrong key, wrong chain or consortium, or the request was altered).",
        )
