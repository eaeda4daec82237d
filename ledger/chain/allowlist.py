"""Membership exported for Hyperledger Besu's local permissioning (it no longer reads a contract).

Besu ≥ 24.12 takes permissions only from `permissions_config.toml`
(`--permissions-accounts-config-file-enabled`): `accounts-allowlist` lists the accounts
that may send transactions. The list is read from the Consortium contract over JSON-RPC
(any node of the consortium), so it is the on-chain membership at the latest block.
"""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address

from ledger.artifacts import load

FORMATS = ("besu",)


class AllowlistError(Exception):
    """The membership could not be read, or the format is unknown."""


def current_members(w3: Any, consortium: str) -> list[str]:
    """Checksummed addresses of the Consortium's members at the latest block, sorted."""
    contract = w3.eth.contract(address=to_checksum_address(consortium), abi=load("Consortium").abi)
    try:
        members = contract.functions.members().call()
    except Exception as exc:  # noqa: BLE001 — web3 raises many types; the CLI needs one
        raise AllowlistError(f"cannot read members from Consortium at {consortium}: {exc}") from None
    return sorted(to_checksum_address(m) for m in members)


def render(members: list[str], fmt: str = "besu") -> str:
    """The allowlist file in `fmt` (only Besu's permissions_config.toml so far)."""
    if fmt not in FORMATS:
        raise AllowlistError(f"unknown allowlist format {fmt!r} (known: {', '.join(FORMATS)})")
    quoted = ",\n  ".join(f'"{m}"' for m in members)
    header = "# Hyperledger Besu local permissioning: accounts allowed to transact (from the Consortium contract).\n"
    return header + f"accounts-allowlist=[\n  {quoted}\n]\n" if members else header + "accounts-allowlist=[]\n"
