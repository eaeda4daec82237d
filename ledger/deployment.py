"""`Deployment`: deployment.json, the chain and the six contract addresses (and the PrivacyBudget
the JobLedger created, at an address derived from the JobLedger's), as docs/protocol.md specifies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rlp
from eth_typing import ChecksumAddress
from eth_utils import is_address, keccak, to_canonical_address, to_checksum_address

from ledger.errors import DeploymentError

# -- deployment.json ---------------------------------------------------------------------

#: The six contracts in deployment (nonce) order.
CONTRACTS = ("Consortium", "CustosToken", "DataRegistry", "Settlement", "JobLedger", "AuditAnchor")
#: The contract the JobLedger creates in its constructor (its address derives from the JobLedger's).
PRIVACY_BUDGET = "PrivacyBudget"


def create_address(sender: str, nonce: int) -> ChecksumAddress:
    """The address a creation from `sender` at `nonce` lands on (keccak(rlp([sender, nonce])))."""
    return to_checksum_address(keccak(rlp.encode([to_canonical_address(sender), nonce]))[12:])


@dataclass(frozen=True)
class Deployment:
    """Where a consortium lives: its chain id, the six contract addresses, and blocks of note.

    deployment.json is `{"chainId", "blockNumber", "contracts": {name: address}}`, as
    `ledger.deploy` writes it; `blockNumber` is the block of the last creation, an
    optional `startBlock` tells the event indexer where to begin (default 0), and an optional
    `genesis` (`{"hash", "validators"}`, written by `custos chain init`) pins the chain's genesis
    and its validator set for auditors.
    """

    chain_id: int
    addresses: Mapping[str, str]  # checksummed by __post_init__, in CONTRACTS order
    block_number: int = 0
    start_block: int = 0
    genesis: Mapping[str, Any] | None = None  # {"hash", "validators"}: the auditors' trust root, when pinned
    _ordered: tuple[ChecksumAddress, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.chain_id, bool) or not isinstance(self.chain_id, int) or self.chain_id <= 0:
            raise DeploymentError(f"deployment.json: chainId {self.chain_id!r} is not a positive integer")
        missing = [name for name in CONTRACTS if name not in self.addresses]
        if missing:
            raise DeploymentError(f"deployment.json names no {', '.join(missing)}")
        checked: dict[str, ChecksumAddress] = {}
        for name in CONTRACTS:
            address = self.addresses[name]
            if not isinstance(address, str) or not is_address(address):
                raise DeploymentError(f"deployment.json: {name} has no valid address ({address!r})")
            checked[name] = to_checksum_address(address)
        for name in ("block_number", "start_block"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise DeploymentError(f"deployment.json: {name} {value!r} is not a block number")
        object.__setattr__(self, "addresses", checked)
        object.__setattr__(self, "_ordered", tuple(checked.values()))

    def address(self, name: str) -> ChecksumAddress:
        """The address of contract `name` (one of the six, or PrivacyBudget); `DeploymentError` otherwise."""
        if name == PRIVACY_BUDGET:
            return self.privacy_budget
        if name not in self.addresses:
            raise DeploymentError(f"the deployment has no {name} (it has: {', '.join(self.addresses)})")
        return self._ordered[CONTRACTS.index(name)]

    @property
    def consortium(self) -> ChecksumAddress:
        """The Consortium contract."""
        return self._ordered[0]

    @property
    def token(self) -> ChecksumAddress:
        """The CustosToken contract."""
        return self._ordered[1]

    @property
    def registry(self) -> ChecksumAddress:
        """The DataRegistry contract."""
        return self._ordered[2]

    @property
    def settlement(self) -> ChecksumAddress:
        """The Settlement contract."""
        return self._ordered[3]

    @property
    def job_ledger(self) -> ChecksumAddress:
        """The JobLedger contract."""
        return self._ordered[4]

    @property
    def audit_anchor(self) -> ChecksumAddress:
        """The AuditAnchor contract."""
        return self._ordered[5]

    @property
    def privacy_budget(self) -> ChecksumAddress:
        """The PrivacyBudget contract: the JobLedger's first creation (contract nonces start at 1)."""
        return create_address(self.job_ledger, 1)

    def event_sources(self) -> dict[str, ChecksumAddress]:
        """Every contract whose events the audit trail indexes: the six and PrivacyBudget."""
        return {**self.addresses, PRIVACY_BUDGET: self.privacy_budget}  # type: ignore[dict-item]  # addresses holds checksummed values (__post_init__)

    def to_json(self) -> str:
        """The text of deployment.json."""
        raw: dict[str, Any] = {"chainId": self.chain_id, "blockNumber": self.block_number, "contracts": self.addresses}
        if self.start_block:
            raw["startBlock"] = self.start_block
        if self.genesis:
            raw["genesis"] = dict(self.genesis)
        return json.dumps(raw, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Deployment:
        """Parse deployment.json; `DeploymentError` names what is missing or malformed."""
        try:
            raw = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise DeploymentError(f"malformed deployment.json: not JSON ({exc})") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("contracts"), dict):
            raise DeploymentError("malformed deployment.json: no 'contracts' object")
        return cls(
            raw.get("chainId"),  # type: ignore[arg-type]  # any JSON value: __post_init__ refuses a non-integer
            raw["contracts"],
            raw.get("blockNumber", 0),
            raw.get("startBlock", 0),
            raw["genesis"] if isinstance(raw.get("genesis"), dict) else None,
        )

    @classmethod
    def load(cls, path: str | Path) -> Deployment:
        """Read and parse the deployment file at `path`."""
        try:
            text = Path(path).read_bytes()
        except OSError as exc:
            raise DeploymentError(f"no deployment file at {path} ({exc.strerror})") from None
        return cls.from_json(text)
