"""ledger.protocol: the facts shared with the contracts, checked against docs/protocol.md and the Solidity source."""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal
from pathlib import Path

import pytest
from eth_abi import encode
from eth_account import Account
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import DeploymentError, ProtocolValueError
from ledger.protocol import (
    CONTRACTS,
    TOKEN_DECIMALS,
    Attestation,
    AttestationDomain,
    Deployment,
    JobKind,
    contribution_hash,
    format_amount,
    kind_name,
    kinds_mask,
    parse_amount,
    privacy_hash,
)

REPO = Path(__file__).resolve().parents[2]
DOMAIN = AttestationDomain(1337, "0x" + "ab" * 20)
ADDRESSES = {name: "0x" + f"{i + 1:02x}" * 20 for i, name in enumerate(CONTRACTS)}


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


# -- amounts --
@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("12.5", 12_500_000_000_000_000_000),
        ("0", 0),
        (" 7 ", 7 * 10**TOKEN_DECIMALS),
        ("0.000000000000000001", 1),
        (".5", 5 * 10 ** (TOKEN_DECIMALS - 1)),
        ("3.", 3 * 10**TOKEN_DECIMALS),
        ("1.1000000000000000000000", 11 * 10 ** (TOKEN_DECIMALS - 1)),  # zeros past 18 decimals lose nothing
        (100, 100 * 10**TOKEN_DECIMALS),
        (Decimal("2.25"), 225 * 10 ** (TOKEN_DECIMALS - 2)),
        (Decimal("1E+2"), 100 * 10**TOKEN_DECIMALS),
    ],
)
def test_amounts_parse_exactly(text: str | int | Decimal, units: int) -> None:
    assert parse_amount(text) == units


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("-1", "negative"),
        ("0.0000000000000000001", "more than the 18 decimals"),
        ("1e3", "not a plain decimal"),
        ("NaN", "not a plain decimal"),
        ("inf", "not a plain decimal"),
        ("", "not a plain decimal"),
        (".", "not a plain decimal"),
        ("+1", "not a plain decimal"),
        ("1,000", "not a plain decimal"),
        ("0x10", "not a plain decimal"),
        ("١٢", "not a plain decimal"),  # Arabic-Indic digits: int() would take them
        ("9" * 60, "does not fit a uint256"),
        ("9" * 5000, "does not fit a uint256"),
        (-1, "negative"),
        (12.5, "not float"),
        (True, "not bool"),
        (Decimal("NaN"), "not a finite number"),
        (Decimal("-0.5"), "negative"),
    ],
)
def test_bad_amounts_are_refused_with_the_reason(value: object, reason: str) -> None:
    with pytest.raises(ProtocolValueError, match=reason):
        parse_amount(value)  # type: ignore[arg-type]  # the wrong types are the point


@pytest.mark.parametrize(
    ("units", "text"),
    [
        (12_500_000_000_000_000_000, "12.5"),
        (0, "0"),
        (1, "0.000000000000000001"),
        (10**21 + 7, "1000.000000000000000007"),
        (-(10**18), "-1"),
    ],
)
def test_amounts_format_exactly(units: int, text: str) -> None:
    assert format_amount(units) == text
    assert format_amount(10**24 + 5 * 10**17, symbol=True, grouped=True) == "1,000,000.5 CST"


@given(st.integers(0, 2**256 - 1))
def test_format_then_parse_gives_back_every_unit(units: int) -> None:
    assert parse_amount(format_amount(units)) == units


# -- deployment.json --
def test_deployment_round_trips_and_names_the_six_contracts(tmp_path: Path) -> None:
    deployment = Deployment(31337, ADDRESSES, block_number=9)
    assert Deployment.from_json(deployment.to_json()) == deployment
    assert list(deployment.addresses) == list(CONTRACTS) and deployment.job_ledger == deployment.address("JobLedger")
    (tmp_path / "deployment.json").write_text(Deployment(31337, ADDRESSES, 9, start_block=4).to_json())
    assert Deployment.load(tmp_path / "deployment.json").start_block == 4


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not json", "not JSON"),
        ("[1]", "no 'contracts' object"),
        ('{"chainId": 1, "blockNumber": 1, "contracts": {}}', "names no Consortium, CustosToken"),
        ('{"chainId": "1", "contracts": ' + str(ADDRESSES).replace("'", '"') + "}", "chainId '1'"),
        ('{"chainId": 1, "contracts": ' + str({**ADDRESSES, "JobLedger": "0x12"}).replace("'", '"') + "}", "JobLedger"),
        ('{"chainId": 1, "blockNumber": -1, "contracts": ' + str(ADDRESSES).replace("'", '"') + "}", "block_number"),
    ],
)
def test_a_malformed_deployment_names_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(DeploymentError, match=reason):
        Deployment.from_json(text)


def test_a_missing_deployment_file_is_a_deployment_error(tmp_path: Path) -> None:
    with pytest.raises(DeploymentError, match="no deployment file at"):
        Deployment.load(tmp_path / "nope.json")
    with pytest.raises(DeploymentError, match="has no Beacon"):
        Deployment(1, ADDRESSES).address("Beacon")
