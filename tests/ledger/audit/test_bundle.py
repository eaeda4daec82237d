"""Evidence bundles: exported from a sealed chain, verified with no network, every tamper caught."""

from __future__ import annotations

import copy
import json
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from custos.cli import app
from ledger.audit.roots import RootsError, trie_proof, trie_root, verify_trie_proof
from tests.ledger.audit.anvil import nowhere_url
from tests.ledger.audit.sealed import TRANSCRIPT_LEAVES, UTILITY_TABLE, SealedJob, run_job

NOWHERE = nowhere_url()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[SealedJob, dict[str, Any]]:
    job = run_job(tmp_path_factory.mktemp("bundle") / "chain")
    out, folder = job.chain.parent / "job0.json", job.chain.parent
    (folder / "table.json").write_text(json.dumps(UTILITY_TABLE))
    (folder / "leaves.json").write_text(json.dumps(TRANSCRIPT_LEAVES))
    held = ["--utility-table", str(folder / "table.json"), "--transcript-leaves", str(folder / "leaves.json")]
    result = CliRunner().invoke(
        app, ["audit", "export", "job", "0", "--out", str(out), "--chain", str(job.chain), "--rpc", NOWHERE, *held]
    )
    assert result.exit_code == 0, result.output
    return job, json.loads(out.read_text())


def verify_bundle(bundle: dict[str, Any], tmp_path: Path, *extra: str) -> Result:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    return CliRunner().invoke(app, ["audit", "verify-bundle", str(path), *extra])


def caught(result: Result, check: str) -> None:
    assert result.exit_code == 3, result.output
    assert any(line.strip().startswith("✗") and f": {check}:" in line for line in result.output.splitlines()), (
        f"no ✗ line names {check!r}:\n{result.output}"
    )


def test_a_bundle_verifies_with_no_network_and_says_who_could_rewrite_it(
    exported: tuple[SealedJob, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job, bundle = exported

    def no_network(*args: object, **kwargs: object) -> None:
        raise OSError("the network is off for this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    result = verify_bundle(bundle, tmp_path, "--deployment", str(job.chain / "deployment.json"))
    assert result.exit_code == 0, result.output
    assert "verification of job 0 (bundle): OK" in result.output
    assert "genesis pinned         1 passed" in result.output
    assert "sealed by 1 of 1" in result.output and "could rewrite its history" in result.output
    checks = ("complete", "attestation signature", "payout", "seal quorum", "block roots", "block time")
    for check in (*checks, "utility table", "transcript root"):
        assert f"  {check} " in result.output


def _events(name: str) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    return lambda b: [e for e in b["events"] if e["event"] == name]


def _drop(name: str) -> Callable[[dict[str, Any]], None]:
    def tamper(bundle: dict[str, Any]) -> None:
        bundle["events"].remove(_events(name)(bundle)[0])

    return tamper


def _edit_amount(bundle: dict[str, Any]) -> None:
    credit = _events("PaymentCredited")(bundle)[0]
    credit["args"]["amount"] = str(int(credit["args"]["amount"]) + 1)


def _back_date(bundle: dict[str, Any]) -> None:
    _events("JobFinalized")(bundle)[0]["time"] -= 3600


def _edit_receipt(bundle: dict[str, Any]) -> None:
    credit = _events("PaymentCredited")(bundle)[0]
    receipt = bytearray(bytes.fromhex(credit["receipt"][2:]))
    receipt[-1] ^= 1
    credit["receipt"] = "0x" + receipt.hex()


def _drop_receipts(bundle: dict[str, Any]) -> None:
    block = str(_events("JobFinalized")(bundle)[0]["block"])
    del bundle["receipts"][block]


def _edit_header(bundle: dict[str, Any]) -> None:
    import rlp

    header = bundle["headers"][len(bundle["headers"]) // 2]
    fields = rlp.decode(bytes.fromhex(header["rlp"][2:]))
    fields[11] = (int.from_bytes(fields[11], "big") - 60).to_bytes(4, "big")
    header["rlp"] = "0x" + rlp.encode(fields).hex()


def _forge_seals(bundle: dict[str, Any]) -> None:
    for header in bundle["headers"]:
        header["seals"] = ["0x" + os.urandom(32).hex() + "11" * 32 + "00"]


def _foreign(bundle: dict[str, Any]) -> None:
    stranger = copy.deepcopy(bundle["governance"][0])
    stranger.update(event="MemberAdded", actor=None, args={}, time=0)
    stranger.pop("actor")
    bundle["events"].append(stranger)


def _edit_table(bundle: dict[str, Any]) -> None:
    bundle["utilityTable"]["utilities"]["a"] = 0.9


def _drop_leaf(bundle: dict[str, Any]) -> None:
    bundle["transcriptLeaves"].pop()


def _edit_payout(bundle: dict[str, Any]) -> None:
    bundle["payout"]["credits"][0]["amount"] = str(int(bundle["payout"]["credits"][0]["amount"]) + 1)


@pytest.mark.parametrize(
    ("tamper", "check"),
    [
        (_drop("AttestationRecorded"), "complete"),
        (_drop("AttestationRecorded"), "attestations complete"),
        (_drop("ConsentGiven"), "consents complete"),
        (_drop("JobFinalized"), "complete"),
        (_edit_amount, "record matches log"),
        (_back_date, "block time"),
        (_edit_receipt, "log in receipt"),
        (_drop_receipts, "complete"),
        (_edit_header, "block canonical"),
        (_forge_seals, "seal quorum"),
        (_foreign, "foreign event"),
        (_edit_payout, "payout"),
        (_edit_table, "utility table"),
        (_drop_leaf, "transcript root"),
    ],
    ids=[
        "attestation-dropped",
        "attestation-dropped-attesters",
        "consent-dropped",
        "finalized-dropped",
        "amount-edited",
        "time-back-dated",
        "receipt-edited",
        "block-receipts-dropped",
        "header-edited",
        "seals-forged",
        "foreign-event",
        "payout-derivation-edited",
        "utility-table-edited",
        "transcript-leaf-dropped",
    ],
)
def test_a_tampered_bundle_is_caught(
    exported: tuple[SealedJob, dict[str, Any]], tmp_path: Path, tamper: Callable[[dict[str, Any]], None], check: str
) -> None:
    bundle = copy.deepcopy(exported[1])
    tamper(bundle)
    caught(verify_bundle(bundle, tmp_path), check)


def test_a_bundle_of_another_genesis_fails_against_your_deployment(
    exported: tuple[SealedJob, dict[str, Any]], tmp_path: Path
) -> None:
    job, bundle = exported
    mine = json.loads((job.chain / "deployment.json").read_text())
    mine["genesis"]["hash"] = "0x" + "00" * 32
    (tmp_path / "deployment.json").write_text(json.dumps(mine))
    caught(verify_bundle(bundle, tmp_path, "--deployment", str(tmp_path / "deployment.json")), "genesis pinned")


def test_a_file_that_is_not_a_bundle_is_refused_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"format": "something else"}')
    result = CliRunner().invoke(app, ["audit", "verify-bundle", str(tmp_path / "x.json")])
    assert result.exit_code == 2 and "is not a custos-evidence-bundle" in result.output


@pytest.mark.parametrize("size", [1, 2, 3, 16, 17, 130])
def test_trie_proofs_round_trip_and_a_wrong_value_or_key_does_not_verify(size: int) -> None:
    values = [os.urandom(20 + i % 50) for i in range(size)]
    root = trie_root(values)
    for index in range(size):
        assert verify_trie_proof(root, index, trie_proof(values, index)) == values[index]
    with pytest.raises(RootsError):
        verify_trie_proof(root, size + 1, trie_proof(values, 0))
    with pytest.raises(RootsError):
        verify_trie_proof(trie_root(values[:-1] + [b"other"]), size - 1, trie_proof(values, size - 1))


def test_a_bundle_whose_headers_skip_the_early_governance_blocks_is_refused(
    exported: tuple[SealedJob, dict[str, Any]], tmp_path: Path
) -> None:
    bundle = copy.deepcopy(exported[1])
    bundle["headers"], bundle["firstBlock"], bundle["governance"] = bundle["headers"][5:], 6, []
    caught(verify_bundle(bundle, tmp_path), "bundle format")
