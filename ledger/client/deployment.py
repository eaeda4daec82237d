"""Reading deployment.json: which chain, and where each of the six contracts lives.

`ledger.deploy` writes the file (`Deployment.to_json`); this reader accepts it without
importing the deployer, so auditors need only the file. Accepted shapes: a top-level
`chainId`, and the contracts as `{"contracts"|"addresses": {name: address | {"address": ...}}}`;
an optional `startBlock`/`deployedAt` block tells the indexer where to begin, and an optional
`genesis` object (`hash`, `validators`) pins the chain's genesis for auditors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3

from ledger.errors import DeploymentError

CONTRACTS = ("Consortium", "CustosToken", "DataRegistry", "JobLedger", "Settlement", "AuditAnchor")


@dataclass(frozen=True)
class DeploymentInfo:
    """A consortium's deployment: chain id, contract addresses, and the first block worth indexing."""

    chain_id: int
    addresses: Mapping[str, ChecksumAddress]
    start_block: int = 0
    genesis: Mapping[str, Any] | None = None  # {"hash", "validators"}: the auditor's trust root, if pinned

    def address(self, name: str) -> ChecksumAddress:
        """The address of contract `name`; `DeploymentError` if the deployment has none."""
        if name not in self.addresses:
            raise DeploymentError(f"the deployment has no {name} (it has: {', '.join(sorted(self.addresses))})")
        return self.addresses[name]


def parse_deployment(raw: Mapping[str, Any]) -> DeploymentInfo:
    """Parse the JSON object of a deployment file."""
    contracts = raw.get("contracts", raw.get("addresses"))
    if not isinstance(contracts, Mapping) or not contracts:
        raise DeploymentError("deployment.json names no contracts ('contracts' or 'addresses')")
    addresses = {}
    for name, value in contracts.items():
        address = value.get("address") if isinstance(value, Mapping) else value
        if not isinstance(address, str) or not Web3.is_address(address):
            raise DeploymentError(f"deployment.json: {name} has no valid address ({address!r})")
        addresses[name] = Web3.to_checksum_address(address)
    chain_id = raw.get("chainId", raw.get("chain_id"))
    if not isinstance(chain_id, int):
        raise DeploymentError("deployment.json has no integer 'chainId'")
    start = raw.get("startBlock", raw.get("deployedAt", raw.get("block", 0)))
    genesis = raw.get("genesis")
    return DeploymentInfo(
        chain_id, addresses, start if isinstance(start, int) else 0, genesis if isinstance(genesis, Mapping) else None
    )


def load_deployment(path: str | Path) -> DeploymentInfo:
    """Read and parse `path`; `DeploymentError` with the reason if it cannot be used."""
    try:
        return parse_deployment(json.loads(Path(path).read_text()))
    except FileNotFoundError:
        raise DeploymentError(f"no deployment file at {path}") from None
    except (json.JSONDecodeError, AttributeError) as exc:
        raise DeploymentError(f"{path} is not a deployment file: {exc}") from None
