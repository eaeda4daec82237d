"""Signatures by chain accounts, for the layers above that must not import eth-account themselves.

A chain account (a secp256k1 key) signs three ways here: EIP-191 personal messages
(transport-key certificates), EIP-712 typed data (attestations, gateway requests) and raw
32-byte digests (protocol envelopes). Recovery returns the checksummed address, or raises
`ProtocolValueError` for a signature that does not recover at all; a signature that
recovers to someone else is the caller's to compare.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_keys import keys
from eth_typing import ChecksumAddress
from eth_utils import keccak, to_checksum_address

from ledger.errors import ProtocolValueError

#: The EIP-712 domain type of every Custos signature: name, version, chain id, verifying contract.
EIP712_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def local_account(private_key: bytes | str) -> LocalAccount:
    """The signing account of a key, for a `ledger.client.TransactionSender`."""
    account: LocalAccount = Account.from_key(private_key)
    return account


def new_private_key() -> bytes:
    """A fresh random 32-byte account key."""
    return bytes(Account.create().key)


def address_of(private_key: bytes | str) -> ChecksumAddress:
    """The checksummed address of an account key (bytes or 0x-hex)."""
    return to_checksum_address(Account.from_key(private_key).address)


def sign_personal(private_key: bytes | str, message: bytes) -> bytes:
    """The 65-byte EIP-191 (personal_sign) signature of `message`."""
    return bytes(Account.sign_message(encode_defunct(message), private_key).signature)


def recover_personal(message: bytes, signature: bytes) -> ChecksumAddress:
    """The address that signed `message` with `sign_personal`."""
    try:
        return to_checksum_address(Account.recover_message(encode_defunct(message), signature=signature))
    except Exception as exc:  # eth-keys raises several unrelated types for an unusable signature
        raise ProtocolValueError(f"the signature does not recover: {exc}") from None


def sign_typed(private_key: bytes | str, typed_data: dict[str, Any]) -> bytes:
    """The 65-byte EIP-712 signature of `typed_data` (types, primaryType, domain, message)."""
    return bytes(Account.sign_typed_data(private_key, full_message=typed_data).signature)


def recover_typed(typed_data: dict[str, Any], signature: bytes) -> ChecksumAddress:
    """The address that signed `typed_data` with `sign_typed`."""
    try:
        signable = encode_typed_data(full_message=typed_data)
        return to_checksum_address(Account.recover_message(signable, signature=signature))
    except Exception as exc:  # as above: malformed signature bytes or an unusable typed-data document
        raise ProtocolValueError(f"the signature does not recover: {exc}") from None


def typed_digest(typed_data: dict[str, Any]) -> bytes:
    """The 32-byte EIP-712 digest of `typed_data`: what a contract passes to `ecrecover`."""
    signable = encode_typed_data(full_message=typed_data)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def sign_digest(private_key: bytes, digest: bytes) -> bytes:
    """A 65-byte recoverable signature (r ‖ s ‖ v, v ∈ {0, 1}) of a 32-byte digest."""
    return bytes(keys.PrivateKey(private_key).sign_msg_hash(digest).to_bytes())


def recover_digest(digest: bytes, signature: bytes) -> ChecksumAddress:
    """The address whose key produced `signature` (from `sign_digest`) over `digest`; ValueError if unusable."""
    return to_checksum_address(keys.Signature(signature).recover_public_key_from_msg_hash(digest).to_checksum_address())
