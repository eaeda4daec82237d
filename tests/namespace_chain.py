"""Each organisation's consortium chain node and etcd member inside its own network namespace.

For tests/test_cross_host.py: organisation i (of the demo's `PARTIES`) runs in namespace i, its etcd
member and its `custos chain up` listening only at the namespace's address, so the nodes reach each
other, and the organisations reach them, over the network only. Every process is started here and
stopped by the caller (the nodes by `Demo.stop`, the etcd members by `EtcdCluster.stop`).
"""

from __future__ import annotations

import subprocess

from custos.demo import CONSORTIUM, PARTIES, Demo
from custos.demo_cluster import node_directory, start_node, write_consortium
from custos.demo_processes import child_env, wait_rpc
from tests.ledger.consensus.etcd_cluster import EtcdCluster, namespace_members, start_members
from tests.ledger.consensus.netns import Namespaces

CHAIN_PORT = 8545  # every node on its own address, so all on the same port


def start_namespace_consortium(demo: Demo, nets: Namespaces) -> EtcdCluster:
    """Keys and bundle in the demo's chain folder (the four parties are the validators), then per party its
    etcd member and its node in its namespace; returns the etcd cluster once every node answers.

    Sets `demo.rpc_of` (each party's own node; the regulator, who runs none, uses the bank's) and `demo.rpc`.
    """
    demo.folder.mkdir(parents=True)
    keystore, validators = write_consortium(demo.folder, demo.chain, CONSORTIUM, len(PARTIES), demo.say)
    assert tuple(validators) == PARTIES, validators
    etcd = namespace_members(nets, demo.folder / "etcd")
    start_members(etcd, f"cross-host-{nets.subnet}")  # all four at once; returns when all are healthy
    rpc_of = {name: f"http://{nets.ip(i)}:{CHAIN_PORT}" for i, name in enumerate(PARTIES)}
    nodes: dict[str, subprocess.Popen[bytes]] = {}
    for i, name in enumerate(PARTIES):
        peers = [rpc_of[other] for other in PARTIES if other != name]
        # Its own member first; the others in case its own is down.
        members = ",".join([etcd.client_urls[i], *(url for j, url in enumerate(etcd.client_urls) if j != i)])
        prefix = ["ip", "netns", "exec", nets.name(i)]
        with (demo.folder / f"node-{name}.log").open("w") as log:
            directory = node_directory(demo.folder, demo.chain, name)
            node = start_node(
                directory, keystore.path(name), members, CHAIN_PORT, log, child_env(), peers, nets.ip(i), prefix
            )
        demo.processes.append(node)
        nodes[name] = node
    for name, node in nodes.items():  # started together: the slowest sets the wait
        wait_rpc(rpc_of[name], node, timeout=120)
        demo.say(f"node of {name:<13} up at {rpc_of[name]}")
    demo.rpc_of = {**rpc_of, "regulator": rpc_of["bank"]}
    demo.rpc = rpc_of["bank"]
    return etcd


def listening(nets: Namespaces, i: int) -> set[str]:
    """Every local address:port a TCP socket listens on inside namespace i."""
    out = subprocess.run(
        ["ip", "netns", "exec", nets.name(i), "ss", "-Hltn"], check=True, capture_output=True, text=True, timeout=30
    ).stdout
    return {line.split()[3] for line in out.splitlines() if line.strip()}
