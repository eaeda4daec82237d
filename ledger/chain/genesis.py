"""The genesis of an embedded chain: its spec (JSON), and writing genesis into a store."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from eth.chains.base import Chain
from eth_utils import to_canonical_address, to_checksum_address

from ledger.chain.chainspec import DEFAULT_CHAIN_ID, GAS_LIMIT, chain_class
from ledger.chain.sealing import validator_set_hash
from ledger.chain.store import LMDBStore

# Each member starts with 10^6 ether: enough for any value transfer a test makes.
MEMBER_FUNDING = 10**24


class GenesisError(Exception):
    """A genesis spec is malformed."""


@dataclass(frozen=True)
class Account:
    """A genesis account: balance, and optionally code and storage (a predeployed contract)."""

    balance: int = 0
    code: bytes = b""
    storage: dict[int, int] = field(default_factory=dict)
    nonce: int = 0


@dataclass(frozen=True)
class GenesisSpec:
    """Everything that determines block 0, plus who may transact before membership exists."""

    chain_id: int
    validators: tuple[bytes, ...]
    alloc: dict[bytes, Account]
    bootstrap: bytes | None = None
    membership: bytes | None = None
    timestamp: int = 0
    gas_limit: int = GAS_LIMIT

    def to_json(self) -> str:
        """Serialise (addresses checksummed, bytes hex)."""
        alloc = {
            to_checksum_address(a): {
                "balance": str(acct.balance),
                "code": "0x" + acct.code.hex(),
                "storage": {hex(k): hex(v) for k, v in acct.storage.items()},
                "nonce": acct.nonce,
            }
            for a, acct in self.alloc.items()
        }
        return json.dumps(
            {
                "chainId": self.chain_id,
                "validators": [to_checksum_address(v) for v in self.validators],
                "bootstrap": to_checksum_address(self.bootstrap) if self.bootstrap else None,
                "membership": to_checksum_address(self.membership) if self.membership else None,
                "timestamp": self.timestamp,
                "gasLimit": self.gas_limit,
                "alloc": alloc,
            },
            indent=1,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> GenesisSpec:
        """Parse a spec written by `to_json`; raises GenesisError when malformed."""
        try:
            raw = json.loads(text)
            alloc = {
                to_canonical_address(a): Account(
                    balance=int(v.get("balance", 0)),
                    code=bytes.fromhex(v.get("code", "0x")[2:]),
                    storage={int(k, 16): int(s, 16) for k, s in v.get("storage", {}).items()},
                    nonce=int(v.get("nonce", 0)),
                )
                for a, v in raw.get("alloc", {}).items()
            }
            return cls(
                chain_id=int(raw["chainId"]),
                validators=tuple(to_canonical_address(v) for v in raw["validators"]),
                alloc=alloc,
                bootstrap=to_canonical_address(raw["bootstrap"]) if raw.get("bootstrap") else None,
                membership=to_canonical_address(raw["membership"]) if raw.get("membership") else None,
                timestamp=int(raw.get("timestamp", 0)),
                gas_limit=int(raw.get("gasLimit", GAS_LIMIT)),
            )
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise GenesisError(f"malformed genesis spec: {exc}") from exc


def development_spec(
    validators: list[bytes], members: list[bytes], bootstrap: bytes | None, chain_id: int = DEFAULT_CHAIN_ID
) -> GenesisSpec:
    """A spec that funds `members` and seals with `validators`, timestamped now."""
    alloc = {m: Account(balance=MEMBER_FUNDING) for m in members}
    if bootstrap is not None:
        alloc.setdefault(bootstrap, Account(balance=MEMBER_FUNDING))
    return GenesisSpec(
        chain_id=chain_id, validators=tuple(validators), alloc=alloc, bootstrap=bootstrap, timestamp=int(time.time())
    )


def build_genesis(store: LMDBStore, spec: GenesisSpec) -> Chain:
    """Write block 0 for `spec` into `store` (not yet committed); return the chain."""
    if not spec.validators:
        raise GenesisError("a chain needs at least one validator")
    params: dict[str, Any] = {
        "difficulty": 0,
        "gas_limit": spec.gas_limit,
        "timestamp": spec.timestamp,
        "extra_data": validator_set_hash(spec.validators),
        "base_fee_per_gas": 0,
        "coinbase": b"\x00" * 20,
    }
    state = {
        a: {"balance": acct.balance, "nonce": acct.nonce, "code": acct.code, "storage": dict(acct.storage)}
        for a, acct in spec.alloc.items()
    }
    return chain_class(spec.chain_id).from_genesis(store, params, state)  # type: ignore[return-value]  # returns the class it is called on


# Where a store keeps the spec it was created from.
SPEC_KEY = b"custos:genesis-spec"


def stored_spec(store: LMDBStore) -> GenesisSpec | None:
    """The genesis spec `store` was created from, or None for a store without a chain."""
    try:
        raw = store[SPEC_KEY]
    except KeyError:
        return None
    return GenesisSpec.from_json(raw.decode())
