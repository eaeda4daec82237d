"""EIP-712 attestations over a run's commitment, exactly as docs/protocol.md defines them.

Domain: name "Custos JobLedger", version "1", chainId, verifyingContract = JobLedger.
Type: Attestation(uint256 jobId,bytes32 inputsHash,bytes32 resultHash,bytes32 transcriptRoot,bytes32 contributionHash).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address

from compute.errors import InvalidInput

ATTESTATION_TYPES = {
    "Attestation": [
        {"name": "jobId", "type": "uint256"},
        {"name": "inputsHash", "type": "bytes32"},
        {"name": "resultHash", "type": "bytes32"},
        {"name": "transcriptRoot", "type": "bytes32"},
        {"name": "contributionHash", "type": "bytes32"},
    ]
}


@dataclass(frozen=True)
class AttestationDomain:
    """Where attestations are verified: the chain and the JobLedger contract."""

    chain_id: int
    job_ledger: str

    def to_eip712(self) -> dict[str, Any]:
        """The EIP-712 domain dict."""
        return {
            "name": "Custos JobLedger",
            "version": "1",
            "chainId": self.chain_id,
            "verifyingContract": to_checksum_address(self.job_ledger),
        }


@dataclass(frozen=True)
class Attestation:
    """The fields a participant signs for one job."""

    job_id: int
    inputs_hash: bytes
    result_hash: bytes
    transcript_root: bytes
    contribution_hash: bytes

    def __post_init__(self) -> None:
        for name in ("inputs_hash", "result_hash", "transcript_root", "contribution_hash"):
            if len(getattr(self, name)) != 32:
                raise InvalidInput(f"attestation field {name} must be 32 bytes")

    def typed_data(self, domain: AttestationDomain) -> dict[str, Any]:
        """The full EIP-712 message (domain, types, primary type, message)."""
        return {
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"},
                ],
                **ATTESTATION_TYPES,
            },
            "primaryType": "Attestation",
            "domain": domain.to_eip712(),
            "message": {
                "jobId": self.job_id,
                "inputsHash": self.inputs_hash,
                "resultHash": self.result_hash,
                "transcriptRoot": self.transcript_root,
                "contributionHash": self.contribution_hash,
            },
        }

    def sign(self, chain_key: bytes, domain: AttestationDomain) -> bytes:
        """The 65-byte EIP-712 signature of this attestation by `chain_key`."""
        return bytes(Account.sign_typed_data(chain_key, full_message=self.typed_data(domain)).signature)

    def signer(self, signature: bytes, domain: AttestationDomain) -> str:
        """The address that produced `signature` over this attestation."""
        return Account.recover_message(encode_typed_data(full_message=self.typed_data(domain)), signature=signature)


def contribution_hash(weights: Sequence[int], utility_table_hash: bytes) -> bytes:
    """keccak256(abi.encode(uint256[] weights, bytes32 utilityTableHash)), as the contract computes it."""
    return keccak(encode(["uint256[]", "bytes32"], [list(weights), utility_table_hash]))
