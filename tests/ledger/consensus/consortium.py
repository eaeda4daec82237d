"""A test consortium: organisations' keys (made here, as each organisation would on its own machine),
their consortium file, bundles derived per organisation, and helpers to drive nodes over JSON-RPC."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.consensus.bundle import write_bundle

CHAIN_ID = 727_099
ORG_NAMES = ("bank", "hospital", "bureau", "insurer")


@dataclass(frozen=True)
class Org:
    """One organisation: its name, key and chain directory."""

    name: str
    account: LocalAccount
    directory: Path


def make_consortium(root: Path, names: tuple[str, ...] = ORG_NAMES, validators: int | None = None) -> list[Org]:
    """Keys per organisation, one consortium file, and each organisation's own bundle derived from its copy."""
    accounts = [Account.from_key(bytes([0x40 + i]) * 32) for i in range(len(names))]
    n_validators = len(names) if validators is None else validators
    consortium = {
        "chainId": CHAIN_ID,
        "threshold": len(names) // 2 + 1,
        "organisations": [
            {
                "name": name,
                "address": acct.address,
                "roles": ["REQUESTER", "PROVIDER"] + (["VALIDATOR"] if i < n_validators else []),
            }
            for i, (name, acct) in enumerate(zip(names, accounts, strict=True))
        ],
    }
    orgs = []
    for name, acct in zip(names, accounts, strict=True):
        own = root / name
        own.mkdir(parents=True)
        (own / "c.json").write_text(json.dumps(consortium))
        write_bundle(own / "c.json", own / "chain")
        orgs.append(Org(name, acct, own / "chain"))
    return orgs


def rpc(url: str, method: str, params: list[Any] | None = None, timeout: float = 10) -> Any:
    """One JSON-RPC call; raises AssertionError on an error answer."""
    reply = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}, timeout=timeout)
    body = reply.json()
    if "error" in body:
        raise AssertionError(f"{method} on {url}: {body['error']}")
    return body["result"]


def send_transfer(url: str, sender: LocalAccount, nonce: int, value: int = 1) -> str:
    """Sign a value transfer to the sender itself and send it to `url`; returns the tx hash."""
    tx = sender.sign_transaction(
        {"chainId": CHAIN_ID, "nonce": nonce, "gas": 21_000, "gasPrice": 0, "to": sender.address, "value": value}
    )
    return str(rpc(url, "eth_sendRawTransaction", ["0x" + tx.raw_transaction.hex()]))


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0, every: float = 0.1) -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (httpx.HTTPError, AssertionError, ValueError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; last: {last!r}")


def receipt(url: str, tx_hash: str) -> Any:
    """The receipt of `tx_hash` on the node at `url`, or None."""
    return rpc(url, "eth_getTransactionReceipt", [tx_hash])


def heads(urls: list[str]) -> list[tuple[int, str]]:
    """(height, hash) of each node's head."""
    out = []
    for url in urls:
        block = rpc(url, "eth_getBlockByNumber", ["latest", False])
        out.append((int(block["number"], 16), block["hash"]))
    return out
