"""ledger.protocol: job kinds and the attestation hashes, checked against docs/protocol.md and the Solidity source."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from eth_abi import encode
from eth_account import Account
from eth_utils import keccak

from ledger.errors import ProtocolValueError
from ledger.protocol import (
    Attestation,
    AttestationDomain,
    JobKind,
    contribution_hash,
    kind_name,
    kinds_mask,
    privacy_hash,
)

REPO = Path(__file__).resolve().parents[2]
DOMAIN = AttestationDomain(1337, "0x" + "ab" * 20)


# -- job kinds --
def test_job_kinds_match_the_protocol_doc_and_job_ledger() -> None:
    doc = (REPO / "docs" / "protocol.md").read_text().split("## Job kinds")[1].split("\n## ")[0]
    table = dict(re.findall(r"^\| (\d) \| ([A-Z_]+) \|$", doc, re.MULTILINE))
    assert {int(k): v for k, v in table.items()} == {kind.value: kind.name for kind in JobKind}
    natspec = re.search(r"@param kind The job kind \(([^)]*)\)", (REPO / "contracts/src/JobLedger.sol").read_text())
    assert natspec is not None
    listed = dict(re.findall(r"(\d) ([A-Z_]+)", natspec.group(1)))
    assert {int(k): v for k, v in listed.items()} == {kind.value: kind.name for kind in JobKind}


@pytest.mark.parametrize("kind", list(JobKind))
def test_a_kind_parses_from_its_label_name_and_number(kind: JobKind) -> None:
    assert JobKind.parse(kind.label) is JobKind.parse(kind.name) is JobKind.parse(str(kind.value)) is kind
    assert kind.bit == 1 << kind.value and kind_name(kind.value) == kind.name


def test_unknown_kinds_are_refused_or_shown_by_number() -> None:
    with pytest.raises(ProtocolValueError, match="unknown job kind 'nope' .known: psi, secure-stats"):
        JobKind.parse("nope")
    with pytest.raises(ProtocolValueError, match="unknown job kind '9'"):
        JobKind.parse("9")
    with pytest.raises(ProtocolValueError, match="unknown job kind"):
        JobKind.parse("٤")  # an Arabic-Indic 4: int() would take it
    assert kind_name(9) == "9"
    assert kinds_mask([JobKind.PSI, JobKind.HETERO_LR]) == 0b10001 and kinds_mask([]) == 0


# -- attestation --
def sample() -> Attestation:
    return Attestation(7, b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, contribution_hash([1, 2, 3], b"\x04" * 32))


def test_signature_recovers_the_signer() -> None:
    account = Account.create()
    signature = sample().sign(bytes(account.key), DOMAIN)
    assert len(signature) == 65 and sample().signer(signature, DOMAIN) == account.address


@pytest.mark.parametrize("field", ["job_id", "inputs_hash", "result_hash", "transcript_root", "contribution_hash"])
def test_a_tampered_field_recovers_someone_else(field: str) -> None:
    account = Account.create()
    signature = sample().sign(bytes(account.key), DOMAIN)
    value = getattr(sample(), field)
    tampered = dataclasses.replace(sample(), **{field: value + 1 if isinstance(value, int) else bytes(31) + b"\x09"})
    assert tampered.signer(signature, DOMAIN) != account.address


def test_another_chain_or_ledger_recovers_someone_else() -> None:
    account = Account.create()
    signature = sample().sign(bytes(account.key), DOMAIN)
    assert sample().signer(signature, AttestationDomain(1338, DOMAIN.job_ledger)) != account.address
    assert sample().signer(signature, AttestationDomain(1337, "0x" + "ac" * 20)) != account.address


@pytest.mark.parametrize("spend", [None, ([500_000, 250_000], 10**12)], ids=["exact", "dp"])
def test_digest_is_the_eip712_hash_of_the_documented_type(spend: tuple[list[int], int] | None) -> None:
    type_hash = keccak(
        b"Attestation(uint256 jobId,bytes32 inputsHash,bytes32 resultHash,"
        b"bytes32 transcriptRoot,bytes32 contributionHash,bytes32 privacyHash)"
    )
    spent = bytes(32) if spend is None else keccak(encode(["uint64[]", "uint64"], list(spend)))
    attestation = dataclasses.replace(sample(), privacy_hash=spent)
    assert spend is None or attestation.privacy_hash == privacy_hash(*spend)
    struct = keccak(
        type_hash
        + encode(
            ["uint256", "bytes32", "bytes32", "bytes32", "bytes32", "bytes32"],
            [7, b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, sample().contribution_hash, spent],
        )
    )
    domain_type = keccak(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    separator = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [domain_type, keccak(b"Custos JobLedger"), keccak(b"1"), 1337, DOMAIN.job_ledger],
        )
    )
    assert attestation.digest(DOMAIN) == keccak(b"\x19\x01" + separator + struct)


def test_a_malformed_signature_or_field_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolValueError, match="does not recover"):
        sample().signer(b"\x01" * 64, DOMAIN)
    with pytest.raises(ProtocolValueError, match="inputs_hash must be 32 bytes"):
        Attestation(1, b"\x01", b"\x02" * 32, b"\x03" * 32, b"\x04" * 32)


def test_contribution_hash_is_abi_encoded() -> None:
    assert contribution_hash([5, 0], b"\x07" * 32) == keccak(encode(["uint256[]", "bytes32"], [[5, 0], b"\x07" * 32]))
