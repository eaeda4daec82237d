"""EIP-712 attestations: sign → recover, the wrong signer and every tampered field fail."""

from __future__ import annotations

import dataclasses

import pytest
from eth_abi import encode
from eth_utils import keccak

from compute.attestation import Attestation, AttestationDomain, contribution_hash
from compute.errors import InvalidInput

DOMAIN = AttestationDomain(1337, "0x" + "ab" * 20)


def sample() -> Attestation:
    return Attestation(7, b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, contribution_hash([1, 2, 3], b"\x04" * 32))


def test_signature_recovers_the_signer(make_parties) -> None:
    party = make_parties(1)[0]
    signature = sample().sign(party.chain_key, DOMAIN)
    assert len(signature) == 65 and sample().signer(signature, DOMAIN) == party.address


@pytest.mark.parametrize("field", ["job_id", "inputs_hash", "result_hash", "transcript_root", "contribution_hash"])
def test_tampered_field_recovers_someone_else(make_parties, field) -> None:
    party = make_parties(1)[0]
    signature = sample().sign(party.chain_key, DOMAIN)
    value = getattr(sample(), field)
    tampered = dataclasses.replace(sample(), **{field: value + 1 if isinstance(value, int) else bytes(31) + b"\x09"})
    assert tampered.signer(signature, DOMAIN) != party.address


def test_other_domain_recovers_someone_else(make_parties) -> None:
    party = make_parties(1)[0]
    signature = sample().sign(party.chain_key, DOMAIN)
    assert sample().signer(signature, AttestationDomain(1338, DOMAIN.job_ledger)) != party.address


def test_typed_data_follows_protocol_doc() -> None:
    data = sample().typed_data(DOMAIN)
    assert data["domain"]["name"] == "Custos JobLedger" and data["domain"]["version"] == "1"
    assert [f["name"] for f in data["types"]["Attestation"]] == [
        "jobId",
        "inputsHash",
        "resultHash",
        "transcriptRoot",
        "contributionHash",
    ]
    type_hash = keccak(
        b"Attestation(uint256 jobId,bytes32 inputsHash,bytes32 resultHash,"
        b"bytes32 transcriptRoot,bytes32 contributionHash)"
    )
    from eth_account.messages import encode_typed_data

    struct = keccak(
        type_hash
        + encode(
            ["uint256", "bytes32", "bytes32", "bytes32", "bytes32"],
            [7, b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, sample().contribution_hash],
        )
    )
    assert encode_typed_data(full_message=data).body == struct


def test_contribution_hash_is_abi_encoded() -> None:
    assert contribution_hash([5], b"\x00" * 32) == keccak(encode(["uint256[]", "bytes32"], [[5], b"\x00" * 32]))


def test_short_hash_is_refused() -> None:
    with pytest.raises(InvalidInput):
        Attestation(1, b"\x01", b"\x02" * 32, b"\x03" * 32, b"\x04" * 32)
