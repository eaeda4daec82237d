"""Run one party of a job as its own process, talking HTTP on loopback: `python -m compute.node SPEC`.

The spec (JSON) names the job, protocol, roster (certified identities), this party's keys and
input, and a rendezvous folder. The node serves its `MessageEndpoint` on a free loopback
port, writes its URL to `<folder>/<address>.url`, waits for every roster party's URL, runs its
role over `HttpTransport`, and writes `<folder>/<address>.out.json`: the agreed result hash,
transcript root and entries, its local output and its EIP-712 attestation signature, or the
failure record if the run aborted (exit status 1). Later the gateway hosts the endpoint.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from compute.channel import Channel, Job
from compute.errors import ComputeError, InvalidInput
from compute.party import Party, PartyIdentity
from compute.psi import ecdh, rsa
from compute.session import Role, failure_of, run_role
from compute.stats.protocol import PROTOCOL as STATS
from compute.stats.protocol import StatsParams, party_role
from compute.transport import HttpTransport, Mailbox, MessageEndpoint, serve_endpoint
from ledger.protocol import Attestation, AttestationDomain


def _psi_roles(module: Any, holder_role: Callable[..., Role]) -> Callable[[dict, str], Role]:
    def build(spec: dict, me: str) -> Role:
        receiver, sender = spec["params"]["receiver"], spec["params"]["sender"]
        reveal = bool(spec["params"].get("reveal_size", False))
        if me == receiver:
            return module.receiver_role(spec["input"], sender, reveal)
        return holder_role(spec["input"], receiver, reveal)

    return build


def _stats_role(spec: dict, me: str) -> Role:
    p = spec["params"]
    params = StatsParams(
        tuple(p.get("bins", ())),
        p.get("fraction_bits", 16),
        epsilon=p.get("epsilon"),
        clip=tuple(p["clip"]) if p.get("clip") else None,
    )
    return party_role(spec["input"], params, p["order"], p["receiver"])


ROLES: dict[str, Callable[[dict, str], Role]] = {
    ecdh.PROTOCOL: _psi_roles(ecdh, ecdh.sender_role),
    rsa.PROTOCOL: _psi_roles(rsa, rsa.key_holder_role),
    STATS: _stats_role,
}


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "to_json"):
        return value.to_json()
    return value


def wait_for_peers(folder: Path, roster: dict[str, PartyIdentity], timeout: float) -> dict[str, str]:
    """Every roster party's endpoint URL, once each has written it; InvalidInput after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        files = {a: folder / f"{a}.url" for a in roster}
        if all(f.exists() for f in files.values()):
            return {a: f.read_text().strip() for a, f in files.items()}
        if time.monotonic() > deadline:
            missing = [a for a, f in files.items() if not f.exists()]
            raise InvalidInput(f"parties {missing} never published an endpoint")
        time.sleep(0.05)


def run_node(spec: dict) -> dict:
    """Run this party's role as the spec says and return what it writes out."""
    me = Party.from_keys(bytes.fromhex(spec["chain_key"]), bytes.fromhex(spec["transport_key"]))
    roster = {i["address"]: PartyIdentity.from_json(i) for i in spec["roster"]}
    if me.address not in roster:
        raise InvalidInput(f"{me.address} is not on the job's roster")
    job = Job(int(spec["job_id"]), spec["protocol"], roster, float(spec.get("timeout", 30)))
    folder = Path(spec["folder"])
    endpoint, mailbox = MessageEndpoint(), Mailbox()
    endpoint.register(job.job_id, me.address, mailbox, roster=roster)
    server = serve_endpoint(endpoint)
    (folder / f"{me.address}.url.tmp").write_text(server.url)
    (folder / f"{me.address}.url.tmp").rename(folder / f"{me.address}.url")
    transport = HttpTransport(wait_for_peers(folder, roster, job.timeout), timeout=job.timeout)
    channel = Channel(me, job, transport, mailbox)
    try:
        outcome = run_role(channel, ROLES[job.protocol](spec, me.address))
    except ComputeError as exc:
        time.sleep(0.2)  # let our abort notices reach the peers before the endpoint closes
        return {"address": me.address, "failure": failure_of(job, exc, me.address).to_json()}
    finally:
        time.sleep(0.2)  # peers may still be posting their last transcript report
        server.stop()
        transport.close()
    out = {
        "address": me.address,
        "value": _jsonable(outcome.value),
        "result_hash": outcome.result_hash.hex() if outcome.result_hash else None,
        "transcript_root": outcome.transcript.root.hex(),
        "transcript": [e.to_json() for e in outcome.transcript.entries],
        "metadata": dict(outcome.metadata),
    }
    if "attest" in spec and outcome.result_hash:
        a = spec["attest"]
        attestation = Attestation(
            job.job_id,
            bytes.fromhex(a["inputs_hash"]),
            outcome.result_hash,
            outcome.transcript.root,
            bytes.fromhex(a["contribution_hash"]),
        )
        out["attestation"] = attestation.sign(
            me.chain_key, AttestationDomain(int(a["chain_id"]), a["job_ledger"])
        ).hex()
    return out


def main(argv: list[str]) -> int:
    """Entry point: `python -m compute.node SPEC.json`."""
    if len(argv) != 1:
        print("usage: python -m compute.node SPEC.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[0]).read_text())
    try:
        out = run_node(spec)
    except ComputeError as exc:
        out = {"failure": {"error": type(exc).__name__, "detail": str(exc)}}
    target = Path(spec["folder"]) / f"{out.get('address', 'unknown')}.out.json"
    target.write_text(json.dumps(out))
    return 1 if "failure" in out else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
