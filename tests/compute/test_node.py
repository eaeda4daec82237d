"""Each party its own process, HTTP on loopback: PSI and secure statistics agree on one commitment."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from compute.psi import ecdh, rsa
from compute.stats.protocol import PROTOCOL as STATS
from ledger.protocol import Attestation, AttestationDomain

DOMAIN = AttestationDomain(31337, "0x" + "11" * 20)
ATTEST = {
    "inputs_hash": "22" * 32,
    "contribution_hash": "33" * 32,
    "chain_id": DOMAIN.chain_id,
    "job_ledger": DOMAIN.job_ledger,
}
REPO = Path(__file__).resolve().parents[2]


def run_nodes(tmp_path: Path, parties, protocol: str, inputs: dict, params: dict, job_id: int) -> dict[str, dict]:
    roster = [p.identity.to_json() for p in parties]
    procs = []
    for p in parties:
        spec = {
            "job_id": job_id,
            "protocol": protocol,
            "roster": roster,
            "folder": str(tmp_path),
            "timeout": 30,
            "chain_key": p.chain_key.hex(),
            "input": inputs[p.address],
            "params": params,
            "attest": ATTEST,
            "transport_key": p.transport_private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()).hex(),
        }
        path = tmp_path / f"{p.address}.spec.json"
        path.write_text(json.dumps(spec))
        procs.append(subprocess.Popen([sys.executable, "-m", "compute.node", str(path)], cwd=REPO))
    for proc in procs:
        proc.wait(timeout=120)
    return {p.address: json.loads((tmp_path / f"{p.address}.out.json").read_text()) for p in parties}


def assert_one_commitment(outs: dict[str, dict], job_id: int) -> None:
    roots = {o["transcript_root"] for o in outs.values()}
    hashes = {o["result_hash"] for o in outs.values()}
    assert len(roots) == 1 and len(hashes) == 1 and None not in hashes
    for address, out in outs.items():
        attestation = Attestation(
            job_id,
            bytes.fromhex(ATTEST["inputs_hash"]),
            bytes.fromhex(out["result_hash"]),
            bytes.fromhex(out["transcript_root"]),
            bytes.fromhex(ATTEST["contribution_hash"]),
        )
        assert attestation.signer(bytes.fromhex(out["attestation"]), DOMAIN) == address


@pytest.mark.parametrize("module", [ecdh, rsa])
def test_psi_across_processes_over_http(tmp_path, make_parties, module) -> None:
    receiver, sender = make_parties(2)
    mine, theirs = [f"u{i}" for i in range(0, 60)], [f"u{i}" for i in range(40, 90)]
    params = {"receiver": receiver.address, "sender": sender.address, "reveal_size": True}
    outs = run_nodes(
        tmp_path, [receiver, sender], module.PROTOCOL, {receiver.address: mine, sender.address: theirs}, params, 41
    )
    assert outs[receiver.address]["value"] == sorted(set(mine) & set(theirs))
    assert outs[sender.address]["value"] == 20
    assert_one_commitment(outs, 41)
    assert len(outs[receiver.address]["transcript"]) == {ecdh: 4, rsa: 5}[module]  # every message, once


def test_secure_stats_across_three_processes_over_http(tmp_path, make_parties) -> None:
    parties = make_parties(3)
    columns = {p.address: [float(i + k) for k in range(10)] for i, p in enumerate(parties)}
    params = {"order": [p.address for p in parties], "receiver": parties[0].address}
    outs = run_nodes(tmp_path, parties, STATS, columns, params, 42)
    values = [x for c in columns.values() for x in c]
    assert outs[parties[0].address]["value"]["sum"] == sum(values)
    assert outs[parties[0].address]["value"]["count"] == len(values)
    assert outs[parties[1].address]["value"] is None
    assert_one_commitment(outs, 42)
