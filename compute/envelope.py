"""The wire format of one party-to-party message: bound, encrypted to the receiver, signed.

```
"CST1" ‖ u16 header_len ‖ header ‖ ephemeral X25519 key (32) ‖ ciphertext ‖ signature (65)
header = job_id (32) ‖ sender (20) ‖ receiver (20) ‖ seq (u64) ‖ kind (u8) ‖ step_len (u8) ‖ step
```
Encryption is HPKE-auth-like: key = HKDF-SHA256(DH(eph, R) ‖ DH(S, R), salt = eph, info =
label ‖ header), ChaCha20-Poly1305 with the header as associated data. A fresh ephemeral
key per message gives a fresh AEAD key (so a zero nonce is safe); the static-static term
means only the holder of the sender's certified transport key can produce a ciphertext that
opens. The sender's chain key then signs keccak(label ‖ everything before the signature), and
the receiver accepts only if the signature recovers to the sender named in the header.
The transcript leaf is keccak(whole envelope).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from eth_utils import keccak, to_canonical_address, to_checksum_address

from compute.errors import DecryptionFailed, MalformedMessage, SignatureInvalid
from compute.party import Address, Party, PartyIdentity
from ledger.signing import recover_digest

MAGIC = b"CST1"
SIGNATURE_LABEL = b"custos/message/v1"
KDF_LABEL = b"custos/channel/v1"
KIND_DATA, KIND_ABORT, KIND_TRANSCRIPT = 0, 1, 2
_FIXED = struct.Struct(">32s20s20sQBB")
_NONCE = b"\x00" * 12


@dataclass(frozen=True)
class Header:
    """What a message is bound to: job, sender, receiver, per-pair sequence, kind and protocol step."""

    job_id: int
    sender: Address
    receiver: Address
    seq: int
    step: str
    kind: int = KIND_DATA

    def encode(self) -> bytes:
        """The header's bytes (also the AEAD associated data)."""
        step = self.step.encode()
        if len(step) > 255:
            raise ValueError(f"step name longer than 255 bytes: {self.step[:40]}…")
        fixed = _FIXED.pack(
            self.job_id.to_bytes(32, "big"),
            to_canonical_address(self.sender),
            to_canonical_address(self.receiver),
            self.seq,
            self.kind,
            len(step),
        )
        return fixed + step

    @classmethod
    def decode(cls, data: bytes) -> Header:
        """Parse header bytes; MalformedMessage on anything off."""
        if len(data) < _FIXED.size:
            raise MalformedMessage("unknown", "unknown", "header too short")
        job, sender, receiver, seq, kind, step_len = _FIXED.unpack_from(data)
        step = data[_FIXED.size :]
        if len(step) != step_len:
            raise MalformedMessage(to_checksum_address(sender), "unknown", "step length does not match")
        try:
            step_text = step.decode()
        except UnicodeDecodeError as exc:
            raise MalformedMessage(to_checksum_address(sender), "unknown", "step is not UTF-8") from exc
        return cls(
            int.from_bytes(job, "big"), to_checksum_address(sender), to_checksum_address(receiver), seq, step_text, kind
        )


@dataclass(frozen=True)
class Envelope:
    """A parsed envelope: its header, the raw bytes and where the parts lie."""

    header: Header
    raw: bytes
    header_bytes: bytes
    ephemeral: bytes
    ciphertext: bytes
    signature: bytes

    @property
    def message_hash(self) -> bytes:
        """keccak256 of the whole envelope: the transcript leaf's data."""
        return keccak(self.raw)


def _aead_key(shared: bytes, ephemeral: bytes, header_bytes: bytes) -> ChaCha20Poly1305:
    key = HKDF(hashes.SHA256(), 32, salt=ephemeral, info=KDF_LABEL + header_bytes).derive(shared)
    return ChaCha20Poly1305(key)


def seal(sender: Party, receiver: PartyIdentity, header: Header, payload: bytes) -> bytes:
    """Encrypt `payload` to `receiver`, bind it to `header` and sign it with the sender's chain key."""
    header_bytes = header.encode()
    ephemeral_key = X25519PrivateKey.generate()
    ephemeral = ephemeral_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    peer = receiver.public_key()
    shared = ephemeral_key.exchange(peer) + sender.transport_private.exchange(peer)
    ciphertext = _aead_key(shared, ephemeral, header_bytes).encrypt(_NONCE, payload, header_bytes)
    body = MAGIC + struct.pack(">H", len(header_bytes)) + header_bytes + ephemeral + ciphertext
    return body + sender.sign_digest(keccak(SIGNATURE_LABEL + body))


def parse(raw: bytes) -> Envelope:
    """Split an envelope into its parts without checking signature or ciphertext."""
    if len(raw) < 6 or raw[:4] != MAGIC:
        raise MalformedMessage("unknown", "unknown", "not a Custos envelope")
    (header_len,) = struct.unpack_from(">H", raw, 4)
    header_end = 6 + header_len
    if len(raw) < header_end + 32 + 16 + 65:
        raise MalformedMessage("unknown", "unknown", "envelope truncated")
    header_bytes = raw[6:header_end]
    header = Header.decode(header_bytes)
    return Envelope(header, raw, header_bytes, raw[header_end : header_end + 32], raw[header_end + 32 : -65], raw[-65:])


def verify_signature(envelope: Envelope) -> None:
    """Raise SignatureInvalid unless the sender named in the header signed the envelope."""
    h = envelope.header
    digest = keccak(SIGNATURE_LABEL + envelope.raw[:-65])
    try:
        signer = recover_digest(digest, envelope.signature)
    except Exception as exc:  # eth-keys raises BadSignature / ValidationError for junk
        raise SignatureInvalid(h.sender, h.step, f"signature does not parse ({exc})") from exc
    if signer != h.sender:
        raise SignatureInvalid(h.sender, h.step, f"signed by {signer}, not by the named sender")


def open_payload(receiver: Party, sender: PartyIdentity, envelope: Envelope) -> bytes:
    """Decrypt a signature-checked envelope addressed to `receiver`."""
    h = envelope.header
    try:
        ephemeral = X25519PublicKey.from_public_bytes(envelope.ephemeral)
        shared = receiver.transport_private.exchange(ephemeral) + receiver.transport_private.exchange(
            sender.public_key()
        )
        return _aead_key(shared, envelope.ephemeral, envelope.header_bytes).decrypt(
            _NONCE, envelope.ciphertext, envelope.header_bytes
        )
    except (InvalidTag, ValueError) as exc:
        raise DecryptionFailed(h.sender, h.step, "ciphertext does not open with the certified keys") from exc
