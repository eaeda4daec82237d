"""Proof-of-authority seals: a validator's signature over a block hash, kept beside the block.

The seal signs `keccak256("custos-seal-v1" ‖ chainId (32 bytes) ‖ blockHash)`. The block hash
commits to the whole header (parent, state, transaction and receipt roots, timestamp), so
a block plus its seal is self-contained: anyone holding the validator set verifies it with
one ecrecover, and a follower can replay sealed blocks without trusting the producer.
The genesis header's extraData is `validator_set_hash(validators)`, so the validator set a
chain was created with is itself committed by the genesis hash. Signatures must be 65
bytes (r ‖ s ‖ v, v ∈ {0, 1}) with low s: a malleated twin of a seal is rejected.
"""

from __future__ import annotations

from collections.abc import Iterable

from eth_keys import keys
from eth_keys.datatypes import PrivateKey
from eth_keys.exceptions import BadSignature
from eth_keys.exceptions import ValidationError as KeysValidationError
from eth_utils import keccak

SEAL_DOMAIN = b"custos-seal-v1"
SEAL_LENGTH = 65
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class SealError(Exception):
    """A block's seal is missing, malformed, or not by a validator."""


def seal_digest(chain_id: int, block_hash: bytes) -> bytes:
    """The 32-byte digest a validator signs to seal `block_hash` on chain `chain_id`."""
    return keccak(SEAL_DOMAIN + chain_id.to_bytes(32, "big") + block_hash)


def validator_set_hash(validators: Iterable[bytes]) -> bytes:
    """keccak256 of the sorted, concatenated 20-byte validator addresses (genesis extraData)."""
    return keccak(b"".join(sorted(validators)))


def sign_seal(key: PrivateKey, chain_id: int, block_hash: bytes) -> bytes:
    """Seal `block_hash` with a validator key; returns the 65-byte signature."""
    return key.sign_msg_hash(seal_digest(chain_id, block_hash)).to_bytes()


def recover_sealer(chain_id: int, block_hash: bytes, seal: bytes) -> bytes:
    """The 20-byte address that produced `seal`; raises SealError if it is malformed."""
    if len(seal) != SEAL_LENGTH:
        raise SealError(f"seal of block 0x{block_hash.hex()} is {len(seal)} bytes, expected {SEAL_LENGTH}")
    if int.from_bytes(seal[32:64], "big") > _SECP256K1_N // 2:
        raise SealError(f"seal of block 0x{block_hash.hex()} has a high s value (malleated)")
    try:
        signature = keys.Signature(seal)
        return signature.recover_public_key_from_msg_hash(seal_digest(chain_id, block_hash)).to_canonical_address()
    except (BadSignature, KeysValidationError) as exc:
        raise SealError(f"seal of block 0x{block_hash.hex()} is not a valid signature: {exc}") from exc


def sealed_by(chain_id: int, block_hash: bytes, seal: bytes, claimed: bytes) -> bool:
    """True if `seal` is a valid seal of `block_hash` by `claimed`."""
    try:
        return recover_sealer(chain_id, block_hash, seal) == claimed
    except SealError:
        return False


def verify_seal(chain_id: int, block_hash: bytes, seal: bytes | None, validators: frozenset[bytes]) -> bytes:
    """Check that a validator sealed `block_hash`; return the sealer or raise SealError."""
    if seal is None:
        raise SealError(f"block 0x{block_hash.hex()} is not sealed")
    sealer = recover_sealer(chain_id, block_hash, seal)
    if sealer not in validators:
        raise SealError(f"block 0x{block_hash.hex()} is sealed by 0x{sealer.hex()}, which is not a validator")
    return sealer
