"""`custos chain status --rpc URL[,URL…]` for consortium nodes: each node's head, finality and seals, checked here.

The head header is rebuilt from its JSON and hashed here, and its seals are recovered here,
so a node cannot claim a hash or a seal count its data does not produce. Nodes are then
cross-checked: at the lowest head among them, every node must hold the same block.
"""

from __future__ import annotations

from typing import Any

from ledger.chain.sealing import SealError, recover_sealer
from ledger.chain.status import StatusError, _rpc, header_from_json


def is_consortium_node(url: str) -> bool:
    """Whether the node at `url` runs the consortium protocol (it answers custos_consensus)."""
    try:
        _rpc(url, "custos_consensus", [])
    except StatusError as exc:
        if "does not exist" in str(exc):
            return False
        raise
    return True


def node_status(url: str) -> dict[str, Any]:
    """One node's consensus status, with its head's hash and seals verified independently."""
    info = _rpc(url, "custos_consensus", [])
    chain_id = int(_rpc(url, "eth_chainId", []), 16)
    head = _rpc(url, "eth_getBlockByNumber", ["latest", False])
    header = header_from_json(head)
    problems = []
    if "0x" + header.hash.hex() != head["hash"]:
        problems.append("head hash does not match its fields")
    sealers = set()
    for seal in _rpc(url, "custos_getBlockSeals", [head["hash"]]):
        try:
            sealers.add("0x" + recover_sealer(chain_id, header.hash, bytes.fromhex(seal[2:])).hex())
        except SealError as exc:
            problems.append(str(exc))
    validators = {v.lower() for v in info["validators"]}
    counted = len(sealers & validators) if header.block_number else info["quorum"]
    if counted < info["quorum"]:
        problems.append(f"head has {counted} valid seals, quorum {info['quorum']}")
    if info["halted"]:
        problems.append(f"halted: {info['halted']}")
    if info.get("stalled"):  # absent on nodes older than the field
        problems.append(f"stalled: {info['stalled']}")
    return {
        "rpc": url,
        "height": header.block_number,
        "head": head["hash"],
        "final": info["final"],
        "headSeals": counted,
        "quorum": info["quorum"],
        "leader": info["leader"],
        "etcd": info["etcd"],
        "pending": info["pending"],
        "evidence": info["evidence"],
        "problems": problems,
    }


def cluster_status(urls: list[str]) -> dict[str, Any]:
    """Every node's status, and whether they agree on the block at the lowest head among them."""
    nodes = []
    for url in urls:
        try:
            nodes.append(node_status(url))
        except StatusError as exc:
            nodes.append({"rpc": url, "problems": [str(exc)]})
    reachable = [n for n in nodes if "height" in n]
    agree = True
    if reachable:
        low = min(n["height"] for n in reachable)
        hashes = set()
        for n in reachable:
            try:
                hashes.add(_rpc(n["rpc"], "eth_getBlockByNumber", [hex(low), False])["hash"])
            except StatusError:
                agree = False
        agree = agree and len(hashes) == 1
    evidence = {(e["kind"], e["offender"], e["height"], e["round"]): e for n in reachable for e in n["evidence"]}
    return {
        "nodes": nodes,
        "agree": agree,
        "evidence": list(evidence.values()),
        "ok": agree and len(reachable) == len(nodes) and not any(n["problems"] for n in nodes),
    }
