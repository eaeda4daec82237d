"""What validators write to etcd: signed proposals, finality records and signed evidence (JSON values).

A proposal is signed by its proposer over `keccak("custos-proposal-v1" ‖ chainId ‖ height ‖
round ‖ blockHash)`, so a proposal names its author undeniably: an invalid one is evidence
against that key, whoever wrote it into etcd. Seals are `ledger.chain.sealing` seals (over
the block hash alone): the block hash commits to the parent, so a seal binds the height.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from eth_keys import keys
from eth_keys.constants import SECPK1_N
from eth_keys.datatypes import PrivateKey
from eth_keys.exceptions import BadSignature
from eth_keys.exceptions import ValidationError as KeysValidationError
from eth_utils import keccak

from ledger.chain.sealing import SealError

PROPOSAL_DOMAIN = b"custos-proposal-v1"


class MessageError(Exception):
    """A value read from etcd is malformed or wrongly signed."""


def proposal_digest(chain_id: int, height: int, round_: int, block_hash: bytes) -> bytes:
    """What a proposer signs."""
    return keccak(
        PROPOSAL_DOMAIN
        + chain_id.to_bytes(32, "big")
        + height.to_bytes(32, "big")
        + round_.to_bytes(32, "big")
        + block_hash
    )


@dataclass(frozen=True)
class Proposal:
    """A block proposed for (height, round), and its author's signature."""

    height: int
    round: int
    proposer: bytes
    block_hash: bytes
    raw_block: bytes
    signature: bytes

    @classmethod
    def make(
        cls, key: PrivateKey, chain_id: int, height: int, round_: int, block_hash: bytes, raw_block: bytes
    ) -> Proposal:
        """Sign a proposal."""
        signature = key.sign_msg_hash(proposal_digest(chain_id, height, round_, block_hash)).to_bytes()
        return cls(height, round_, key.public_key.to_canonical_address(), block_hash, raw_block, signature)

    def verify_author(self, chain_id: int) -> None:
        """Raise MessageError unless `proposer` signed this (height, round, block hash)."""
        digest = proposal_digest(chain_id, self.height, self.round, self.block_hash)
        try:
            signer = recover_sealer_of_digest(digest, self.signature)
        except SealError as exc:
            raise MessageError(f"proposal ({self.height}, {self.round}): {exc}") from None
        if signer != self.proposer:
            raise MessageError(
                f"proposal ({self.height}, {self.round}) is signed by 0x{signer.hex()}, not its proposer"
            )

    def to_bytes(self) -> bytes:
        """The etcd value."""
        return json.dumps(
            {
                "height": self.height,
                "round": self.round,
                "proposer": self.proposer.hex(),
                "blockHash": self.block_hash.hex(),
                "block": self.raw_block.hex(),
                "signature": self.signature.hex(),
            }
        ).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Proposal:
        """Parse an etcd value; raises MessageError."""
        try:
            d = json.loads(raw)
            return cls(
                int(d["height"]),
                int(d["round"]),
                bytes.fromhex(d["proposer"]),
                bytes.fromhex(d["blockHash"]),
                bytes.fromhex(d["block"]),
                bytes.fromhex(d["signature"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise MessageError(f"malformed proposal: {exc}") from None


def recover_sealer_of_digest(digest: bytes, signature: bytes) -> bytes:
    """The signer of a 32-byte digest (same malleability rules as seals)."""
    # recover_sealer hashes (domain, chain id, hash); proposals sign their own digest.
    if len(signature) != 65:
        raise SealError(f"signature is {len(signature)} bytes, expected 65")
    if int.from_bytes(signature[32:64], "big") > SECPK1_N // 2:
        raise SealError("signature has a high s value (malleated)")
    try:
        return keys.Signature(signature).recover_public_key_from_msg_hash(digest).to_canonical_address()
    except (BadSignature, KeysValidationError) as exc:
        raise SealError(f"not a valid signature: {exc}") from None


@dataclass(frozen=True)
class FinalRecord:
    """Which round's block is final at a height."""

    round: int
    block_hash: bytes

    def to_bytes(self) -> bytes:
        """The etcd value."""
        return json.dumps({"round": self.round, "hash": self.block_hash.hex()}).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> FinalRecord:
        """Parse an etcd value; raises MessageError."""
        try:
            d = json.loads(raw)
            return cls(int(d["round"]), bytes.fromhex(d["hash"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise MessageError(f"malformed final record: {exc}") from None


EVIDENCE_DOMAIN = b"custos-evidence-v1"


@dataclass(frozen=True)
class Evidence:
    """Misbehaviour one node saw, naming the offending validator, signed by the reporting organisation.

    The signature covers `keccak("custos-evidence-v1" ‖ chainId ‖ the record's canonical JSON
    without the signature)`, so a record names its reporter undeniably, whoever copied it.
    """

    kind: str
    offender: str
    height: int
    round: int
    detail: str
    reporter: str
    signature: str = ""

    @classmethod
    def make(
        cls, key: PrivateKey, chain_id: int, kind: str, offender: bytes, height: int, round_: int, detail: str
    ) -> Evidence:
        """A signed record by `key`'s organisation."""
        reporter = "0x" + key.public_key.to_canonical_address().hex()
        unsigned = cls(kind, "0x" + offender.hex(), height, round_, detail, reporter)
        signature = key.sign_msg_hash(unsigned.digest(chain_id)).to_bytes()
        return cls(**{**asdict(unsigned), "signature": "0x" + signature.hex()})

    def digest(self, chain_id: int) -> bytes:
        """What the reporter signs."""
        fields = asdict(self)
        del fields["signature"]
        body = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
        return keccak(EVIDENCE_DOMAIN + chain_id.to_bytes(32, "big") + body)

    def verify_reporter(self, chain_id: int) -> None:
        """Raise MessageError unless `reporter` signed this record."""
        try:
            signer = recover_sealer_of_digest(self.digest(chain_id), bytes.fromhex(self.signature.removeprefix("0x")))
        except (SealError, ValueError) as exc:
            raise MessageError(f"evidence by {self.reporter}: {exc}") from None
        if "0x" + signer.hex() != self.reporter.lower():
            raise MessageError(f"evidence claims reporter {self.reporter} but is signed by 0x{signer.hex()}")

    def to_bytes(self) -> bytes:
        """The etcd value."""
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Evidence:
        """Parse an etcd value; raises MessageError."""
        try:
            return cls(**json.loads(raw))
        except (ValueError, TypeError) as exc:
            raise MessageError(f"malformed evidence: {exc}") from None
