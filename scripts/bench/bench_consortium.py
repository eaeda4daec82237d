"""The consortium chain (4 nodes on etcd) vs the single node vs anvil, same workload, same run.

Workload: 8 senders (consortium members) spread over the nodes, each sending one signed
`AuditAnchor.anchor(root, 1, tag)` call per request and awaiting its receipt before the next.
On the consortium a receipt exists only once the block is final (a quorum of seals), so the
send-to-receipt time of each transaction is its time to finality. Every organisation has its own
network namespace (veth on a bridge, as in the fault tests; root needed) holding its etcd member
and its `custos chain up` process; `--loopback` runs them on 127.0.0.1 with one etcd member
instead. The single node runs the same genesis (the same bundle) with one validator key; anvil
gets the same contracts. The machine's load average is printed beside the figures.

Prints JSON lines (scripts/bench/report.py): tx/s of the cluster against the single node (the
mean of a run just before and one just after the cluster's) and against anvil, finality p50/p99
against the single node's receipt latency, and a projection for 4 machines from the measured
per-node CPU cost.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_chain import ANCHOR, ANCHOR_ABI, ANVIL_MNEMONIC, CONSORTIUM, NO_JOB_LEDGER, _deploy
from report import emit

from custos.demo_cluster import start_etcd, start_node
from custos.demo_processes import chain_node_url
from ledger.consensus.bundle import write_bundle
from ledger.keystore import DEV_SCRYPT_N, Keystore

# anvil as the tests start it, and the namespaces and etcd members of the fault tests: one implementation each.
from tests.backends import anvil_process
from tests.ledger.consensus.etcd_cluster import namespace_members, start_members
from tests.ledger.consensus.netns import Namespaces

CHAIN_ID = 727_200
SENDERS = 8
PASSWORD = "bench"


def _rpc(client: httpx.Client, url: str, method: str, params: list[Any]) -> Any:
    reply = client.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).json()
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]


def _wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{url}: process exited with {proc.returncode}")
            try:
                _rpc(client, url, "eth_blockNumber", [])
                return
            except httpx.HTTPError:
                time.sleep(0.1)
    raise RuntimeError(f"{url} did not start in {timeout} s")


def drive(urls: list[str], senders: list[LocalAccount], anchor: str, seconds: float, fee: int) -> dict[str, float]:
    """Each sender sends anchor() calls one at a time to its node and awaits the receipt; tx/s and latencies."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    errors: list[str] = []

    def sender(i: int) -> None:
        url = urls[i % len(urls)]
        account = senders[i]
        with httpx.Client(timeout=30) as client:
            chain_id = int(_rpc(client, url, "eth_chainId", []), 16)
            nonce = int(_rpc(client, url, "eth_getTransactionCount", [account.address, "pending"]), 16)
            while time.monotonic() < stop:
                data = ANCHOR_ABI.encode_abi("anchor", [os.urandom(32), 1, b"bench".ljust(32, b"\0")])
                raw = account.sign_transaction(
                    {
                        "chainId": chain_id,
                        "nonce": nonce,
                        "gas": 150_000,
                        "maxFeePerGas": fee,
                        "maxPriorityFeePerGas": fee // 10,
                        "to": anchor,
                        "value": 0,
                        "data": data,
                    }
                ).raw_transaction
                sent = time.perf_counter()
                try:
                    tx_hash = _rpc(client, url, "eth_sendRawTransaction", ["0x" + raw.hex()])
                    while _rpc(client, url, "eth_getTransactionReceipt", [tx_hash]) is None:
                        time.sleep(0.005)
                except (RuntimeError, httpx.HTTPError) as exc:
                    errors.append(str(exc))
                    return
                with lock:
                    latencies.append(time.perf_counter() - sent)
                nonce += 1

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(len(senders))]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{len(errors)} sender(s) failed: {errors[:2]}")
    latencies.sort()
    return {
        "tps": len(latencies) / elapsed,
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "count": len(latencies),
    }


def _bundle(root: Path, nodes: int) -> tuple[list[LocalAccount], list[LocalAccount], Path, str]:
    """Validators (one per node) and the senders (members); writes the bundle; returns the AuditAnchor address."""
    validators = [Account.from_key(bytes([0x60 + i]) * 32) for i in range(nodes)]
    senders = [Account.from_key(bytes([0x80 + i]) * 32) for i in range(SENDERS)]
    orgs = [
        {"name": f"v{i}", "address": a.address, "roles": ["VALIDATOR", "REQUESTER"]} for i, a in enumerate(validators)
    ]
    orgs += [{"name": f"s{i}", "address": a.address, "roles": ["REQUESTER"]} for i, a in enumerate(senders)]
    (root / "c.json").write_text(json.dumps({"chainId": CHAIN_ID, "organisations": orgs}))
    bundle = write_bundle(root / "c.json", root / "bundle")
    for i, v in enumerate(validators):
        Keystore(root / "keys").save(f"v{i}", v.key, PASSWORD, DEV_SCRYPT_N)
    return validators, senders, root / "bundle", bundle.deployment["contracts"]["AuditAnchor"]


def bench_cluster(root: Path, nodes: int, seconds: float) -> tuple[dict[str, float], list[float]]:
    """`nodes` organisations, each in its own network namespace with its etcd member and its node."""
    validators, senders, bundle, anchor = _bundle(root, nodes)
    nets = Namespaces(nodes)
    etcd = namespace_members(nets, root)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        nets.create()
        start_members(etcd, f"custos-bench-{nets.subnet}")
        env = {**os.environ, "CUSTOS_KEYSTORE_PASSWORD": PASSWORD}
        urls = [f"http://{nets.ip(i)}:8545" for i in range(nodes)]
        for i in range(nodes):
            directory = root / f"node{i}"
            shutil.copytree(bundle, directory)
            command = [
                sys.executable,
                "-m",
                "custos",
                "chain",
                "up",
                str(directory),
                "--key",
                str(root / "keys" / f"v{i}.json"),
            ]
            # Its own organisation's member first: the node reads its watch stream there and writes through it.
            own_first = etcd.client_urls[i:] + etcd.client_urls[:i]
            command += ["--etcd", ",".join(own_first), "--host", nets.ip(i), "--port", "8545"]
            procs.append(
                subprocess.Popen(
                    ["ip", "netns", "exec", nets.name(i), *command],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=env,
                    cwd=REPO,
                )
            )
        return _measure(urls, procs, senders, anchor, seconds)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        etcd.stop()
        nets.remove()


def bench_cluster_loopback(root: Path, nodes: int, seconds: float) -> tuple[dict[str, float], list[float]]:
    """`nodes` `custos chain up` processes on loopback, on one etcd member (no root needed)."""
    validators, senders, bundle, anchor = _bundle(root, nodes)
    etcd, etcd_url = start_etcd(root / "etcd", root / "etcd.log")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        env = {**os.environ, "CUSTOS_KEYSTORE_PASSWORD": PASSWORD}
        for i in range(nodes):
            directory = root / f"node{i}"
            shutil.copytree(bundle, directory)
            with (root / f"node{i}.log").open("w") as log:  # each node says on which port 0 gave it
                procs.append(start_node(directory, root / "keys" / f"v{i}.json", etcd_url, 0, log, env))
        urls = [chain_node_url(proc, root / f"node{i}.log", timeout=120) for i, proc in enumerate(procs)]
        return _measure(urls, procs, senders, anchor, seconds)
    finally:
        for proc in [*procs, etcd]:
            proc.kill()
            proc.wait()


def _measure(
    urls: list[str], procs: list[subprocess.Popen[bytes]], senders: list[LocalAccount], anchor: str, seconds: float
) -> tuple[dict[str, float], list[float]]:
    """Drive the started nodes; the workload's numbers and the CPU seconds each node spent."""
    for url, proc in zip(urls, procs, strict=True):
        _wait_up(url, proc)
    # `ip netns exec` execs the node: the pid is the node's own.
    before = [_cpu_seconds(p.pid) for p in procs]
    result = drive(urls, senders, anchor, seconds, fee=0)
    after = [_cpu_seconds(p.pid) for p in procs]
    return result, [a - b for a, b in zip(after, before, strict=True)]


def bench_single(root: Path, seconds: float) -> dict[str, float]:
    """The same genesis served by one node with one validator key (quorum 1 of 1)."""
    validators, senders, bundle, anchor = _bundle(root, 1)
    log = root / "single.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-single", str(bundle)], cwd=REPO, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        return drive([chain_node_url(proc, log, timeout=120)], senders, anchor, seconds, fee=0)
    finally:
        proc.kill()
        proc.wait()


def serve_single(bundle: Path) -> None:
    """(Child process) a single embedded node on the bundle's genesis, sealing with validator v0, on a port it
    picks itself and reports as `custos chain up` does."""
    from eth_keys import keys

    from ledger.chain.genesis import GenesisSpec
    from ledger.chain.node import Node
    from ledger.chain.server import ChainServer

    spec = GenesisSpec.from_json((bundle / "genesis.json").read_text())
    node = Node.create(bundle / "single", spec, keys.PrivateKey(bytes([0x60]) * 32))
    server = ChainServer(node, "127.0.0.1", 0)
    print(f"serving {server.url}", file=sys.stderr, flush=True)
    server.serve_forever()


def bench_anvil(seconds: float) -> dict[str, float]:
    """anvil with Consortium (the 8 senders as members) and AuditAnchor."""
    Account.enable_unaudited_hdwallet_features()
    accounts = [Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}") for i in range(SENDERS)]
    with anvil_process() as url:
        with httpx.Client(timeout=30) as client:
            common = {"chainId": 31337, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9, "value": 0}
            members = [a.address for a in accounts]
            consortium = _deploy(
                client, url, accounts[0], common, 0, CONSORTIUM, [members, [31] * SENDERS, ["m"] * SENDERS, 1, 86_400]
            )
            anchor = _deploy(client, url, accounts[0], common, 1, ANCHOR, [consortium, NO_JOB_LEDGER])
        return drive([url], accounts, anchor, seconds, fee=10**10)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    """Run the three and print JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--loopback", action="store_true", help="nodes on 127.0.0.1, one etcd member (no root)")
    parser.add_argument("--serve-single", metavar="BUNDLE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_single:
        serve_single(Path(args.serve_single))
        return 0
    return run(args.nodes, args.seconds, args.loopback)


def run(nodes: int, seconds: float, loopback: bool = False) -> int:
    """Measure the single node, the `nodes`-node consortium and anvil; print the JSON lines."""
    with tempfile.TemporaryDirectory(prefix="custos-bench-") as tmp:
        root = Path(tmp)
        for part in ("single", "single-after", "cluster"):
            (root / part).mkdir()
        # The single node runs just before and just after the cluster, and the baseline is the mean of
        # the two: the machine's load drifts, and one side alone made the ratio swing twofold.
        before = bench_single(root / "single", seconds)
        load_before = os.getloadavg()[0]
        cluster, cpu_of_nodes = (bench_cluster_loopback if loopback else bench_cluster)(
            root / "cluster", nodes, seconds
        )
        load_after = os.getloadavg()[0]
        after = bench_single(root / "single-after", seconds)
    single = {k: (before[k] + after[k]) / 2 for k in ("tps", "p50", "p99")}
    anvil = bench_anvil(seconds)
    where = "loopback, 1 etcd member" if loopback else f"{nodes} network namespaces, {nodes} etcd members"
    load = [round(load_before, 1), round(load_after, 1)]
    sides = [round(before["tps"], 1), round(after["tps"], 1)]
    # CPU per transaction of each node (every node re-executes every transaction; one also admits it).
    cpu_ms = [round(1000 * c / max(1, cluster["count"]), 1) for c in cpu_of_nodes]
    info = {"setup": where, "load_average_1m": load, "single_node_tps_before_after": sides, "cpu_ms_per_tx": cpu_ms}
    print(json.dumps(info))
    emit(f"consortium{nodes}_tps", cluster["tps"], "tx/s", "single_node_tps", single["tps"])
    emit(f"consortium{nodes}_tps_vs_anvil", cluster["tps"], "tx/s", "anvil_tps", anvil["tps"])
    emit(f"consortium{nodes}_finality_p50", cluster["p50"], "s", "single_node_receipt_p50", single["p50"])
    emit(f"consortium{nodes}_finality_p99", cluster["p99"], "s", "single_node_receipt_p99", single["p99"])
    # On one machine the nodes share 2 cores; on 4 machines each node has its machine to itself, so the
    # cluster's rate is bounded by the busiest node's CPU per transaction (the leader, which builds).
    cpu_per_tx = max(cpu_of_nodes) / max(1, cluster["count"])
    projected = 1.0 / cpu_per_tx if cpu_per_tx else 0.0
    emit(f"consortium{nodes}_projected_tps_4_machines", projected, "tx/s", "single_node_tps", single["tps"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
