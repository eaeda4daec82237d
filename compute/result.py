"""The result object every protocol's entry point returns, and canonical result hashing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from eth_utils import keccak

from compute.errors import ProtocolViolation
from compute.party import Address
from compute.session import PartyOutcome
from compute.transcript import Transcript

T = TypeVar("T")


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON bytes (sorted keys, no spaces) of a result value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def hash_result(value: Any) -> bytes:
    """keccak256 of the canonical JSON of `value`: the result hash a run commits."""
    return keccak(canonical_json(value))


@dataclass(frozen=True)
class PartyMetadata:
    """What a party contributed, for contribution scoring (e.g. rows contributed)."""

    address: Address
    role: str
    rows: int
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProtocolResult(Generic[T]):
    """A finished run: the result, its hash, the transcript (and root), and per-party metadata."""

    protocol: str
    job_id: int
    value: T
    result_hash: bytes
    transcript: Transcript
    parties: tuple[PartyMetadata, ...]
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def transcript_root(self) -> bytes:
        """The transcript's Merkle root, committed on chain."""
        return self.transcript.root


def agreed(outcomes: Mapping[Address, PartyOutcome], protocol: str) -> tuple[Transcript, bytes]:
    """The transcript and result hash every party finished with; ProtocolViolation if they differ."""
    roots = {o.transcript.root for o in outcomes.values()}
    hashes = {o.result_hash for o in outcomes.values()}
    if len(roots) != 1 or len(hashes) != 1 or None in hashes:
        raise ProtocolViolation(
            "several", "transcript", f"{protocol}: parties finished with different transcripts or results"
        )
    first = next(iter(outcomes.values()))
    assert first.result_hash is not None  # `None in hashes` was refused above
    return first.transcript, first.result_hash
