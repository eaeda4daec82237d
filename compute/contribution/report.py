"""The contribution part of a job's result bundle: table, scores, integer weights, hashes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from compute.contribution.utility import UtilityTable
from compute.errors import InvalidInput
from compute.result import canonical_json
from ledger.protocol import contribution_hash

WEIGHT_SCALE = 10**6  # weights in parts per million of the contribution pool
# Added before flooring, so that a share whole in exact arithmetic (¼ of 10^6) does not drop by one
# unit to floating-point error, and implementations that sum in another order agree.
ROUNDING_SLACK = 1e-6


def to_weights(scores: Sequence[float] | np.ndarray, scale: int = WEIGHT_SCALE) -> list[int]:
    """Non-negative integer weights ⌊max(score, 0) / Σ max(score, 0) · scale + ROUNDING_SLACK⌋ (docs/protocol.md).

    They sum to ≤ scale and > 0; all 1 (an equal split) when no score is positive.
    """
    positive = np.clip(np.asarray(scores, dtype=np.float64), 0.0, None)
    if not np.all(np.isfinite(positive)):
        raise InvalidInput("scores must be finite")
    total = positive.sum()
    if total <= 0:
        return [1] * len(positive)  # nobody helped measurably: split the pool equally
    weights = [int(v) for v in np.floor(positive / total * scale + ROUNDING_SLACK)]
    if sum(weights) == 0:
        weights[int(np.argmax(positive))] = 1
    return weights


@dataclass(frozen=True)
class ContributionReport:
    """What a job commits about contributions: the table, the method, the scores and the weights."""

    table: UtilityTable
    method: str
    scores: tuple[float, ...]
    weights: tuple[int, ...]
    error_bound: float = 0.0
    details: tuple[tuple[str, object], ...] = ()

    @classmethod
    def build(
        cls,
        table: UtilityTable,
        method: str,
        scores: Sequence[float] | np.ndarray,
        error_bound: float = 0.0,
        **details: object,
    ) -> ContributionReport:
        """A report with weights derived from the scores."""
        if len(scores) != len(table.sources):
            raise InvalidInput(f"{len(scores)} scores for {len(table.sources)} sources")
        return cls(
            table,
            method,
            tuple(float(s) for s in scores),
            tuple(to_weights(scores)),
            float(error_bound),
            tuple(sorted(details.items())),
        )

    @property
    def utility_table_hash(self) -> bytes:
        """keccak256 of the table's canonical JSON."""
        return self.table.digest()

    @property
    def contribution_hash(self) -> bytes:
        """keccak256(abi.encode(uint256[] weights, bytes32 utilityTableHash)) per docs/protocol.md."""
        return contribution_hash(list(self.weights), self.utility_table_hash)

    def to_json(self) -> dict[str, object]:
        """The bundle's contribution section (canonical-JSON ready)."""
        return {
            "utility_table": self.table.to_json(),
            "utility_table_hash": "0x" + self.utility_table_hash.hex(),
            "method": self.method,
            "scores": list(self.scores),
            "weights": list(self.weights),
            "error_bound": self.error_bound,
            "details": dict(self.details),
            "contribution_hash": "0x" + self.contribution_hash.hex(),
        }

    def canonical(self) -> bytes:
        """Canonical JSON bytes of `to_json`."""
        return canonical_json(self.to_json())


@dataclass(frozen=True)
class ChainCommit:
    """What a finished job commits: `commitResult(jobId, result_hash, transcript_root, weights, utility_table_hash)`,
    the contribution hash attesters sign, and the result bundle published beside them (canonical JSON)."""

    result_hash: bytes
    transcript_root: bytes
    weights: tuple[int, ...]  # aligned with `sources`, which the job's sourceIds must follow
    sources: tuple[str, ...]
    utility_table_hash: bytes
    contribution_hash: bytes
    bundle: bytes

    @classmethod
    def of(cls, result_hash: bytes, transcript_root: bytes, report: ContributionReport, bundle: object) -> ChainCommit:
        """Assemble from a run's hashes, its contribution report and its bundle value."""
        return cls(
            result_hash,
            transcript_root,
            report.weights,
            report.table.sources,
            report.utility_table_hash,
            report.contribution_hash,
            canonical_json(bundle),
        )
