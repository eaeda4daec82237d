"""`custos demo --nodes N`: the demo's consortium as N organisations' nodes on one etcd member, on this machine.

Development mode: every organisation's key is made here, in one keystore (the demo says
so). The first N organisations are validators and each runs its own `custos chain up`
against the etcd member; the others use the first node. Everything listens on loopback, on ports
picked free and launched again on fresh ones if another process takes one first (`custos.ports`):
etcd needs its peer URL before it starts, and the nodes name each other in `--peers`.
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

from custos.demo_processes import chain_node_url, stop_process, wait_up
from custos.ports import on_free_ports, raise_if_port_taken
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
    etcd, client = start_etcd(folder / "etcd", folder / "etcd.log")
    try:
        directories = {name: node_directory(folder, chain, name) for name in validators}

        def launch(ports: list[int]) -> tuple[list[subprocess.Popen[bytes]], dict[str, str]]:
            return _start_validators(folder, directories, keystore, client, ports, env)

        started, rpc_of = on_free_ports(len(validators), launch)
    except BaseException:
        stop_process(etcd)
        raise
    for org in orgs[nodes:]:
        rpc_of[org["name"]] = rpc_of[validators[0]]
    say(f"{nodes} nodes on etcd {client}")
    return DemoCluster([etcd, *started], rpc_of, validators)


def _start_validators(
    folder: Path,
    directories: dict[str, Path],
    keystore: Keystore,
    etcd: str,
    ports: list[int],
    env: dict[str, str],
) -> tuple[list[subprocess.Popen[bytes]], dict[str, str]]:
    """Each validator's node on its port, every other one's URL as its `--peers`; returns the processes and
    each one's URL once all answer. PortTaken (custos.ports), every node stopped, if one found its port taken."""
    port_of = dict(zip(directories, ports, strict=True))
    urls = {name: f"http://127.0.0.1:{port}" for name, port in port_of.items()}
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, directory in directories.items():
            peers = [urls[other] for other in directories if other != name]
            with (folder / f"node-{name}.log").open("w") as log:
                processes[name] = start_node(directory, keystore.path(name), etcd, port_of[name], log, env, peers)
        for name, process in processes.items():
            log_file = folder / f"node-{name}.log"
            try:  # its own "serving" line first: a process that took the port could answer in its place
                chain_node_url(process, log_file, timeout=120)
            except RuntimeError:
                raise_if_port_taken(process, log_file, f"the node of {name}")
                raise
    except BaseException:
        for process in processes.values():
            stop_process(process)
        raise
    return list(processes.values()), urls


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


def start_etcd(data_dir: Path, log: Path, timeout: float = 60.0) -> tuple[subprocess.Popen[bytes], str]:
    """One etcd member on loopback (a development cluster), its output in `log`; returns the process and its
    client URL once it answers healthy."""
    etcd_binary = shutil.which("etcd") or ETCD

    def launch(ports: list[int]) -> tuple[subprocess.Popen[bytes], str]:
        client, peer = (f"http://127.0.0.1:{port}" for port in ports)
        shutil.rmtree(data_dir, ignore_errors=True)  # what a launch that lost its port left
        with log.open("w") as out:
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
                stdout=out,
                stderr=subprocess.STDOUT,
            )

        def healthy() -> None:
            if httpx.get(client + "/health", timeout=2).raise_for_status().json().get("health") != "true":
                raise httpx.HTTPError("not healthy yet")

        try:
            wait_up(f"etcd at {client} (see {log})", process, healthy, timeout)
            if process.poll() is not None:  # it answered, but it has exited: another process answered for it
                raise RuntimeError(f"etcd exited with status {process.returncode}; see {log}")
        except RuntimeError:
            stop_process(process)
            raise_if_port_taken(process, log, "etcd")
            raise
        return process, client

    return on_free_ports(2, launch)


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
