"""Driving the shared four-node cluster (conftest.py): its timing, contract calls, governance votes, and waits
until every node agrees."""

from __future__ import annotations

import json
from typing import Any

from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from ledger.consensus.timing import Timing
from tests.ledger.consensus.consortium import CHAIN_ID, Org, heads, receipt, rpc, wait_for

# etcd keeps 8 heights: the tests run past that, so they also run with pruned history.
FAST = Timing(round_timeout=3.0, lease_ttl=2, stand_down=2.0, poll=0.1, keep_heights=8)


def settle(urls: list[str]) -> tuple[int, str]:
    """Wait until every node has the same head; returns its (height, hash)."""

    def same() -> tuple[int, str] | None:
        seen = set(heads(urls))
        return next(iter(seen)) if len(seen) == 1 else None

    head: tuple[int, str] = wait_for("every node at the same head", same)
    return head


def evidence(url: str, kind: str) -> list[dict[str, Any]]:
    """The evidence of `kind` the node at `url` reports."""
    return [e for e in rpc(url, "custos_consensus")["evidence"] if e["kind"] == kind]


def selector(signature: str) -> bytes:
    """A function's 4-byte selector."""
    return keccak(text=signature)[:4]


def call_tx(url: str, sender: LocalAccount, to: str, data: bytes) -> dict[str, Any]:
    """Send a call from `sender` through the node at `url`; returns its receipt, which must be a success."""
    nonce = int(rpc(url, "eth_getTransactionCount", [sender.address, "pending"]), 16)
    signed = sender.sign_transaction(
        {"chainId": CHAIN_ID, "nonce": nonce, "gas": 1_000_000, "gasPrice": 0, "to": to, "value": 0, "data": data}
    )
    tx_hash = rpc(url, "eth_sendRawTransaction", ["0x" + signed.raw_transaction.hex()])
    found: dict[str, Any] = wait_for(f"receipt of {tx_hash}", lambda: receipt(url, tx_hash))
    assert found["status"] == "0x1", found
    return found


def govern(urls: list[str], orgs: list[Org], target: str, roles: int, why: str) -> int:
    """Propose, approve (3 of the members) and execute setRoles(target, roles); returns the height it applies from."""
    consortium = json.loads((orgs[0].directory / "deployment.json").read_text())["contracts"]["Consortium"]
    set_roles = selector("setRoles(address,uint8)") + encode(["address", "uint8"], [target, roles])
    propose = selector("propose(address,bytes,string)") + encode(
        ["address", "bytes", "string"], [consortium, set_roles, why]
    )
    proposal_id = int(
        rpc(
            urls[0],
            "eth_call",
            [{"from": orgs[0].account.address, "to": consortium, "data": "0x" + propose.hex()}, "latest"],
        ),
        16,
    )
    call_tx(urls[0], orgs[0].account, consortium, propose)
    for org in orgs[1:3]:
        call_tx(urls[1], org.account, consortium, selector("approve(uint256)") + encode(["uint256"], [proposal_id]))
    executed = call_tx(
        urls[2], orgs[0].account, consortium, selector("execute(uint256)") + encode(["uint256"], [proposal_id])
    )
    return int(executed["blockNumber"], 16) + 1
