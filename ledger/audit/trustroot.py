"""The auditor's trust root: a pinned genesis, validator sets derived from it, seal quorums, checkpoints.

Nothing here asks a node who its validators are. The genesis hash and the genesis
validator set come from deployment.json (`"genesis": {"hash", "validators"}`), written when
the chain was created. The set at a later height is the genesis set changed by the
governance events of earlier blocks, applied in chain order by the table
`VALIDATOR_CHANGES` (event name → rule): a change in block k applies from block k+1 on,
since a block is sealed by the validators of its parent's state. New governance events
(key rotation, validator replacement) slot in as new rows.

A block counts as sealed only with distinct valid seals from at least
`seal_quorum(n)` = n − ⌊(n−1)/3⌋ of the n validators of its height (2f+1 of 3f+1).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.chain.sealing import SealError, recover_sealer
from ledger.errors import AuditError

VALIDATOR_ROLE = 16  # Governed.sol's VALIDATOR bit

Rule = Callable[[set[bytes], Mapping[str, Any]], None]


def _address(value: str) -> bytes:
    return bytes.fromhex(value[2:])


def _member_added(validators: set[bytes], args: Mapping[str, Any]) -> None:
    if int(args["roles"]) & VALIDATOR_ROLE:
        validators.add(_address(args["member"]))


def _roles_changed(validators: set[bytes], args: Mapping[str, Any]) -> None:
    if int(args["newRoles"]) & VALIDATOR_ROLE:
        validators.add(_address(args["member"]))
    else:
        validators.discard(_address(args["member"]))


def _member_removed(validators: set[bytes], args: Mapping[str, Any]) -> None:
    validators.discard(_address(args["member"]))


# Consortium events that change who validates. Add a row when the contracts gain one.
VALIDATOR_CHANGES: dict[str, Rule] = {
    "MemberAdded": _member_added,
    "RolesChanged": _roles_changed,
    "MemberRemoved": _member_removed,
}


def seal_quorum(validators: int) -> int:
    """Seals a block needs among `validators` validators: 2f+1 of 3f+1 (1 of 1, 3 of 4, 5 of 7)."""
    return validators - (validators - 1) // 3 if validators else 1


@dataclass(frozen=True)
class ValidatorChange:
    """One governance event that (may) change the validator set, at its chain position."""

    block: int
    log_index: int
    event: str
    args: Mapping[str, Any]


@dataclass(frozen=True)
class TrustRoot:
    """The genesis a deployment pins, and the validator-set history derived from it."""

    chain_id: int
    genesis_hash: bytes
    genesis_validators: frozenset[bytes]
    changes: tuple[ValidatorChange, ...] = ()

    def with_changes(self, changes: Iterable[ValidatorChange]) -> TrustRoot:
        """The same root with the governance events read from the chain."""
        ordered = sorted(changes, key=lambda c: (c.block, c.log_index))
        return TrustRoot(self.chain_id, self.genesis_hash, self.genesis_validators, tuple(ordered))

    def validators_at(self, height: int) -> frozenset[bytes]:
        """The validators that seal block `height`: genesis changed by the events of blocks < height."""
        validators = set(self.genesis_validators)
        for change in self.changes:
            if change.block >= height:
                break
            VALIDATOR_CHANGES[change.event](validators, change.args)
        return frozenset(validators)

    def to_json(self) -> dict[str, Any]:
        """The pin as deployment.json holds it."""
        return {
            "hash": "0x" + self.genesis_hash.hex(),
            "validators": ["0x" + v.hex() for v in sorted(self.genesis_validators)],
        }


def trust_root(chain_id: int, pin: Mapping[str, Any] | None) -> TrustRoot | None:
    """The trust root of deployment.json's `genesis` object, or None when it pins none."""
    if not pin:
        return None
    try:
        return TrustRoot(
            chain_id, bytes.fromhex(str(pin["hash"])[2:]), frozenset(_address(v) for v in pin["validators"])
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise AuditError(f"deployment.json: malformed genesis pin ({exc})") from None


@dataclass(frozen=True)
class SealCount:
    """How a block's seals stand against its height's validators."""

    signers: frozenset[bytes]
    validators: frozenset[bytes]
    problems: tuple[str, ...]

    @property
    def quorum(self) -> int:
        """The seals this height needs."""
        return seal_quorum(len(self.validators))

    @property
    def sealed(self) -> bool:
        """At least the quorum of this height's validators sealed it."""
        return len(self.signers) >= self.quorum

    def describe(self) -> str:
        """`sealed by 1 of 1 …` with the plain warning a single validator deserves."""
        text = f"sealed by {len(self.signers)} of {len(self.validators)} (quorum {self.quorum})"
        if len(self.validators) == 1:
            text += ": a single organisation validates this chain and could rewrite its history"
        return text


def count_seals(chain_id: int, block_hash: bytes, seals: Sequence[bytes], validators: frozenset[bytes]) -> SealCount:
    """Distinct validators whose seal over `block_hash` verifies; what was wrong with the others."""
    signers: set[bytes] = set()
    problems = []
    for seal in seals:
        try:
            sealer = recover_sealer(chain_id, block_hash, seal)
        except SealError as exc:
            problems.append(str(exc))
            continue
        if sealer in validators:
            signers.add(sealer)
        else:
            problems.append(f"a seal by 0x{sealer.hex()}, not a validator at this height")
    return SealCount(frozenset(signers), validators, tuple(problems))


@dataclass(frozen=True)
class Checkpoint:
    """A block an auditor has seen: height, hash, and the seals it had."""

    height: int
    hash: bytes
    seals: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        """JSON form (hex strings)."""
        return {"height": self.height, "hash": "0x" + self.hash.hex(), "seals": ["0x" + s.hex() for s in self.seals]}


class CheckpointFile:
    """An auditor's saved checkpoints for one chain (JSON), appended to, never rewritten."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def load(self, chain_id: int, genesis: bytes) -> list[Checkpoint]:
        """The saved checkpoints; `AuditError` if the file is for another chain or unreadable."""
        if not self.path.exists():
            return []
        try:
            raw = json.loads(self.path.read_text())
            if raw["chainId"] != chain_id or raw["genesis"] != "0x" + genesis.hex():
                raise AuditError(f"{self.path} holds checkpoints of another chain")
            return [
                Checkpoint(c["height"], bytes.fromhex(c["hash"][2:]), tuple(bytes.fromhex(s[2:]) for s in c["seals"]))
                for c in raw["checkpoints"]
            ]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AuditError(f"cannot read checkpoints {self.path}: {exc}") from None

    def save(self, chain_id: int, genesis: bytes, checkpoint: Checkpoint) -> None:
        """Add `checkpoint` (a height already saved keeps its first hash: history must not change)."""
        saved = self.load(chain_id, genesis)
        if any(c.height == checkpoint.height for c in saved):
            return
        body = {
            "chainId": chain_id,
            "genesis": "0x" + genesis.hex(),
            "checkpoints": [c.to_json() for c in sorted([*saved, checkpoint], key=lambda c: c.height)],
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(body, indent=1))
        tmp.replace(self.path)
