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
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_keys import keys
from eth_utils import to_checksum_address

from compute.errors import InvalidInput

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
        message = encode_defunct(transport_key_statement(self.address, self.transport_key))
        try:
            signer = Account.recover_message(message, signature=self.certificate)
        except Exception as exc:  # eth-account raises several types for bad signatures
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
        account = Account.from_key(chain_key)
        transport = X25519PrivateKey.from_private_bytes(transport_key) if transport_key else X25519PrivateKey.generate()
        public = transport.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        certificate = account.sign_message(encode_defunct(transport_key_statement(account.address, public))).signature
        return cls(bytes(chain_key), transport, PartyIdentity(account.address, public, bytes(certificate)), data)

    @classmethod
    def generate(cls, data: Any = None) -> Party:
        """A party with fresh random keys (tests, demos)."""
        return cls.from_keys(Account.create().key, data=data)

    @property
    def address(self) -> Address:
        """The party's chain address (checksummed)."""
        return self.identity.address

    def with_data(self, data: Any) -> Party:
        """The same identity holding other local data."""
        return Party(self.chain_key, self.transport_private, self.identity, data)

    def sign_digest(self, digest: bytes) -> bytes:
        """A 65-byte recoverable secp256k1 signature (r ‖ s ‖ v) of a 32-byte digest with the chain key."""
        return keys.PrivateKey(self.chain_key).sign_msg_hash(digest).to_bytes()


def recover_signer(digest: bytes, signature: bytes) -> Address:
    """The address whose chain key produced `signature` over `digest`; ValueError if it does not parse."""
    return keys.Signature(signature).recover_public_key_from_msg_hash(digest).to_checksum_address()
