"""The job facts the contracts, the ledger, compute, the gateway and the CLI share, defined once.

docs/protocol.md is their specification; everything else imports them from here:

- `JobKind`: the job kinds, numbered as `JobLedger.openJob(uint8 kind, ...)` and the
  `allowedKinds` bitmask (bit k = kind k) number them;
- the EIP-712 attestation (`AttestationDomain`, `Attestation`: typed data, digest, sign,
  recover), `inputs_hash`, `contribution_hash` and `privacy_hash`, exactly as `JobLedger`
  verifies them.

The other shared facts have their own modules: token amounts and the privacy budget's units in
`ledger.units`, deployment.json in `ledger.deployment`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_abi import encode
from eth_typing import ChecksumAddress
from eth_utils import keccak, to_checksum_address

from ledger.errors import ProtocolValueError
from ledger.signing import EIP712_DOMAIN_TYPE, recover_typed, sign_typed, typed_digest

# -- job kinds ---------------------------------------------------------------------------


class JobKind(IntEnum):
    """A job's kind as JobLedger records it (`uint8`); bit `k` of a source's `allowedKinds` allows kind `k`."""

    PSI = 0
    SECURE_STATS = 1
    SECURE_AGGREGATION = 2
    FEDAVG = 3
    HETERO_LR = 4

    @property
    def label(self) -> str:
        """The name a person types on the command line: `psi`, `secure-stats`, ..., `hetero-lr`."""
        return self.name.lower().replace("_", "-")

    @property
    def is_dp(self) -> bool:
        """Whether jobs of this kind run a DP mechanism and spend privacy budget (PrivacyBudget.DP_KINDS)."""
        return self in (JobKind.SECURE_STATS, JobKind.FEDAVG)

    @property
    def bit(self) -> int:
        """This kind's bit in an `allowedKinds`/`autoConsentKinds` mask."""
        return 1 << self.value

    @classmethod
    def parse(cls, text: str) -> JobKind:
        """The kind named `text` (`hetero-lr`, `HETERO_LR` or `4`); `ProtocolValueError` names the known ones."""
        key = text.strip().upper().replace("-", "_")
        if key.isascii() and key.isdigit() and int(key) in cls._value2member_map_:
            return cls(int(key))
        if key in cls.__members__:
            return cls[key]
        known = ", ".join(kind.label for kind in cls)
        raise ProtocolValueError(f"unknown job kind {text!r} (known: {known})")


def kinds_mask(kinds: Iterable[JobKind]) -> int:
    """The `uint256` bitmask that allows exactly `kinds`."""
    mask = 0
    for kind in kinds:
        mask |= JobKind(kind).bit
    return mask


def kind_name(kind: int) -> str:
    """The enum name of a recorded kind (`HETERO_LR`), or the number itself for a kind this code does not know."""
    return JobKind(kind).name if kind in JobKind._value2member_map_ else str(kind)


# -- EIP-712 attestation -----------------------------------------------------------------

ATTESTATION_DOMAIN_NAME = "Custos JobLedger"
ATTESTATION_DOMAIN_VERSION = "1"
ATTESTATION_TYPE = [
    {"name": "jobId", "type": "uint256"},
    {"name": "inputsHash", "type": "bytes32"},
    {"name": "resultHash", "type": "bytes32"},
    {"name": "transcriptRoot", "type": "bytes32"},
    {"name": "contributionHash", "type": "bytes32"},
    {"name": "privacyHash", "type": "bytes32"},
]
#: The privacy hash of a job that releases an exact result (no DP spend).
NO_PRIVACY_SPEND = bytes(32)


@dataclass(frozen=True)
class AttestationDomain:
    """Where attestations are verified: the chain and the JobLedger contract."""

    chain_id: int
    job_ledger: str

    def to_eip712(self) -> dict[str, Any]:
        """The EIP-712 domain object."""
        return {
            "name": ATTESTATION_DOMAIN_NAME,
            "version": ATTESTATION_DOMAIN_VERSION,
            "chainId": self.chain_id,
            "verifyingContract": to_checksum_address(self.job_ledger),
        }


@dataclass(frozen=True)
class Attestation:
    """What every attester of a job signs: the job, its inputs, result, transcript, contribution
    table and, for a DP job, the ε it spent per source (`privacy_hash`; zero for an exact job)."""

    job_id: int
    inputs_hash: bytes
    result_hash: bytes
    transcript_root: bytes
    contribution_hash: bytes
    privacy_hash: bytes = NO_PRIVACY_SPEND

    def __post_init__(self) -> None:
        for name in ("inputs_hash", "result_hash", "transcript_root", "contribution_hash", "privacy_hash"):
            if len(getattr(self, name)) != 32:
                raise ProtocolValueError(f"attestation field {name} must be 32 bytes")
        if not 0 <= self.job_id < 2**256:
            raise ProtocolValueError(f"attestation job id {self.job_id} is not a uint256")

    def typed_data(self, domain: AttestationDomain) -> dict[str, Any]:
        """The full EIP-712 message (types, primary type, domain, message)."""
        return {
            "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, "Attestation": ATTESTATION_TYPE},
            "primaryType": "Attestation",
            "domain": domain.to_eip712(),
            "message": {
                "jobId": self.job_id,
                "inputsHash": self.inputs_hash,
                "resultHash": self.result_hash,
                "transcriptRoot": self.transcript_root,
                "contributionHash": self.contribution_hash,
                "privacyHash": self.privacy_hash,
            },
        }

    def digest(self, domain: AttestationDomain) -> bytes:
        """The 32-byte EIP-712 digest the contract recovers the signer from."""
        return typed_digest(self.typed_data(domain))

    def sign(self, chain_key: bytes, domain: AttestationDomain) -> bytes:
        """The 65-byte signature of this attestation by `chain_key`."""
        return sign_typed(chain_key, self.typed_data(domain))

    def signer(self, signature: bytes, domain: AttestationDomain) -> ChecksumAddress:
        """The address that produced `signature` over this attestation; `ProtocolValueError` if none does."""
        return recover_typed(self.typed_data(domain), signature)


def inputs_hash(source_ids: Iterable[int], versions: Iterable[int], commitments: Iterable[bytes]) -> bytes:
    """keccak256(abi.encode(uint256[] sourceIds, uint64[] versions, bytes32[] commitments)), as openJob computes it."""
    return keccak(encode(["uint256[]", "uint64[]", "bytes32[]"], [list(source_ids), list(versions), list(commitments)]))


def contribution_hash(weights: Iterable[int], utility_table_hash: bytes) -> bytes:
    """keccak256(abi.encode(uint256[] weights, bytes32 utilityTableHash)), as JobLedger computes it."""
    return keccak(encode(["uint256[]", "bytes32"], [list(weights), utility_table_hash]))


def privacy_hash(epsilons_spent: Sequence[int], delta: int) -> bytes:
    """keccak256(abi.encode(uint64[] epsilonsSpent, uint64 delta)): a DP job's spend (micro-ε per
    source, aligned with its sources; atto-δ), as PrivacyBudget returns it at commit."""
    return keccak(encode(["uint64[]", "uint64"], [list(epsilons_spent), delta]))
