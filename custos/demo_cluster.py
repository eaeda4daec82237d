"""`custos demo --nodes N`: the demo's consortium as N organisations' nodes on one etcd member, on this machine.

Development mode: every organisation's key is made here, in one keystore (the demo says
so). The first N organisations are validators and each runs its own `custos chain up`
against the etcd member; the others use the first node. Everything listens on loopback.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

from ledger.consensus.bundle import write_bundle
from ledger.keystore import DEV_PASSWORD, DEV_SCRYPT_N, Keystore

ETCD = "/usr/bin/etcd"


@dataclass
class DemoCluster:
    """The started processes and which node each organisation uses."""

    processes: list[subprocess.Popen[bytes]]
    rpc_of: dict[str, str]
    validators: list[str]


def start_cluster(
    folder: Path,
    chain: Path,
    consortium: dict[str, Any],
    nodes: int,
    free_port: Callable[[], int],
    env: dict[str, str],
    say: Callable[[str], None],
) -> DemoCluster:
    """Keys, bundle, one etcd member and `nodes` node processes; returns once every node answers."""
    orgs = consortium["organisations"]
    if not 1 <= nodes <= len(orgs):
        raise RuntimeError(f"--nodes must be between 1 and {len(orgs)}")
    if not Path(shutil.which("etcd") or ETCD).exists():
        raise RuntimeError("custos demo --nodes needs etcd: apt-get install etcd-server")
    keystore, validators = write_consortium(folder, chain, consortium, nodes, say)
    processes: list[subprocess.Popen[bytes]] = []
    etcd, client = start_etcd(folder / "etcd", (folder / "etcd.log").open("w"), free_port)
    processes.append(etcd)
    ports = {name: free_port() for name in validators}
    rpc_of = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    for name in validators:
        peers = [rpc_of[other] for other in validators if other != name]
        log = (folder / f"node-{name}.log").open("w")
        directory = node_directory(folder, chain, name)
        processes.append(start_node(directory, keystore.path(name), client, ports[name], log, env, peers))
    for org in orgs[nodes:]:
        rpc_of[org["name"]] = rpc_of[validators[0]]
    say(f"{nodes} nodes on etcd {client}")
    return DemoCluster(processes, rpc_of, validators)


def write_consortium(
    folder: Path, chain: Path, consortium: dict[str, Any], nodes: int, say: Callable[[str], None]
) -> tuple[Keystore, list[str]]:
    """Every organisation's key, the consortium file `folder/c.json` with the first `nodes` organisations as
    validators, and its bundle in `chain`; returns the keystore and the validators' names."""
    orgs = consortium["organisations"]
    keystore = Keystore(chain / "keystore")
    for org in orgs:
        keystore.create(org["name"], DEV_PASSWORD, DEV_SCRYPT_N)
    say(f"development mode: all {len(orgs)} organisations' keys made on this machine, in {keystore.folder}")
    file = {
        **consortium,
        "organisations": [
            {
                **org,
                "address": keystore.address(org["name"]),
                "roles": sorted(set(org["roles"]) | ({"VALIDATOR"} if i < nodes else set())),
            }
            for i, org in enumerate(orgs)
        ],
    }
    (folder / "c.json").write_text(json.dumps(file, indent=1))
    bundle = write_bundle(folder / "c.json", chain)
    say(f"consortium chain {file['chainId']}: genesis 0x{bundle.genesis_hash.hex()[:16]}…")
    return keystore, [org["name"] for org in orgs[:nodes]]


def node_directory(folder: Path, chain: Path, name: str) -> Path:
    """Organisation `name`'s own copy of the bundle (without the keystore), `folder/nodes/name`."""
    directory = folder / "nodes" / name
    shutil.copytree(chain, directory, ignore=shutil.ignore_patterns("keystore"))
    return directory


def start_etcd(data_dir: Path, log: IO[str] | int, free_port: Callable[[], int]) -> tuple[subprocess.Popen[bytes], str]:
    """One etcd member on loopback (a development cluster); returns the process and its client URL."""
    etcd_binary = shutil.which("etcd") or ETCD
    client, peer = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
    process = subprocess.Popen(
        [
            etcd_binary,
            "--name",
            "dev",
            "--data-dir",
            str(data_dir),
            "--listen-client-urls",
            client,
            "--advertise-client-urls",
            client,
            "--listen-peer-urls",
            peer,
            "--initial-advertise-peer-urls",
            peer,
            "--initial-cluster",
            f"dev={peer}",
            "--log-level",
            "error",
        ],  # fmt: skip
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return process, client


def start_node(
    directory: Path,
    key_file: Path,
    etcd: str,
    port: int,
    log: IO[str] | int,
    env: dict[str, str],
    peers: Sequence[str] = (),
    host: str = "127.0.0.1",
    prefix: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    """`custos chain up DIR --key … --etcd … --host … --port …` (the key's password in `env`), run under
    `prefix` (e.g. `ip netns exec NS`); `peers` are the other nodes' URLs, asked for blocks etcd no longer holds."""
    command = [*prefix, sys.executable, "-m", "custos", "chain", "up", str(directory)]
    command += ["--key", str(key_file), "--etcd", etcd, "--host", host, "--port", str(port)]
    command += ["--peers", ",".join(peers)] if peers else []
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)


def sealed_by(rpc: str, block_hash: str) -> tuple[int, int]:
    """(seals, validators) of a final block, as the node at `rpc` holds them."""

    def post(method: str, params: list[Any]) -> Any:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        return httpx.post(rpc, json=body, timeout=10).json()["result"]

    return len(post("custos_getBlockSeals", [block_hash])), len(post("custos_currentValidators", []))
