"""A party: an organisation's chain identity, its certified transport key, and its local data.

The chain account (an Ethereum key) is the identity. It certifies an X25519 transport key
with an EIP-191 signature over `transport_key_statement(address, key)`, so any peer can
check the binding offline (no chain lookup); the Consortium contract may also store the key.
Messages are signed with the chain key itself: secp256k1 via coincurve signs in ~52 µs and
recovers in ~48 µs here, against ~20 µs / ~63 µs for Ed25519, so a second signing key would
buy nothing and weaken the binding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from eth_utils import to_checksum_address

from compute.errors import InvalidInput
from ledger.errors import ProtocolValueError
from ledger.signing import address_of, new_private_key, recover_personal, sign_digest, sign_personal

Address = str  # checksummed 0x… chain address


def transport_key_statement(address: Address, transport_key: bytes) -> bytes:
    """The text a chain account signs to certify its X25519 transport key."""
    return f"Custos transport key v1\naccount: {to_checksum_address(address)}\nx25519: {transport_key.hex()}".encode()


@dataclass(frozen=True)
class PartyIdentity:
    """What peers know of a party: address, X25519 transport key and the account's certificate of it."""

    address: Address
    transport_key: bytes
    certificate: bytes

    def verify(self) -> None:
        """Raise InvalidInput unless the certificate was signed by `address` over `transport_key`."""
        if len(self.transport_key) != 32:
            raise InvalidInput(f"transport key of {self.address} is {len(self.transport_key)} bytes, not 32")
        try:
            signer = recover_personal(transport_key_statement(self.address, self.transport_key), self.certificate)
        except ProtocolValueError as exc:
            raise InvalidInput(f"transport-key certificate of {self.address} does not parse: {exc}") from exc
        if signer != self.address:
            raise InvalidInput(f"transport key of {self.address} is certified by {signer}, not by its account")

    def public_key(self) -> X25519PublicKey:
        """The transport key as a `cryptography` object."""
        return X25519PublicKey.from_public_bytes(self.transport_key)

    def to_json(self) -> dict[str, str]:
        """A JSON-ready form (hex strings)."""
        return {
            "address": self.address,
            "transport_key": self.transport_key.hex(),
            "certificate": self.certificate.hex(),
        }

    @classmethod
    def from_json(cls, data: dict[str, str]) -> PartyIdentity:
        """Parse `to_json` output and verify the certificate."""
        identity = cls(
            to_checksum_address(data["address"]),
            bytes.fromhex(data["transport_key"]),
            bytes.fromhex(data["certificate"]),
        )
        identity.verify()
        return identity


@dataclass(frozen=True)
class Party:
    """An organisation in a job: chain key, transport key, and (optionally) its local data."""

    chain_key: bytes = field(repr=False)
    transport_private: X25519PrivateKey = field(repr=False)
    identity: PartyIdentity
    data: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_keys(cls, chain_key: bytes, transport_key: bytes | None = None, data: Any = None) -> Party:
        """A party from its 32-byte chain private key (and transport key; a fresh one if omitted)."""
        address = address_of(chain_key)
        transport = X25519PrivateKey.from_private_bytes(transport_key) if transport_key else X25519PrivateKey.generate()
        public = transport.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        certificate = sign_personal(chain_key, transport_key_statement(address, public))
        return cls(bytes(chain_key), transport, PartyIdentity(address, public, certificate), data)

    @classmethod
    def generate(cls, data: Any = None) -> Party:
        """A party with fresh random keys (tests, demos)."""
        return cls.from_keys(new_private_key(), data=data)

    @property
    def address(self) -> Address:
        """The party's chain address (checksummed)."""
        return self.identity.address

    def with_data(self, data: Any) -> Party:
        """The same identity holding other local data."""
        return Party(self.chain_key, self.transport_private, self.identity, data)

    def sign_digest(self, digest: bytes) -> bytes:
        """A 65-byte recoverable secp256k1 signature (r ‖ s ‖ v) of a 32-byte digest with the chain key."""
        return sign_digest(self.chain_key, digest)
