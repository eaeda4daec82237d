"""Utility tables: coalition of data sources → measured model quality, cached, canonical, hashed.

Utilities are measured (e.g. validation AUC of the model a coalition's data yields); nothing
self-reported (row counts, declared sizes) enters them. The table, hashed as canonical JSON,
is what `contributionHash` commits, so anyone can recompute every score from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_utils import keccak

from compute.errors import InvalidInput
from compute.result import canonical_json

Coalition = frozenset[int]
UtilityFunction = Callable[[Coalition], float]


@dataclass
class CachedUtility:
    """A utility function over source indices 0..n−1, each coalition evaluated once."""

    function: UtilityFunction
    sources: int
    cache: dict[Coalition, float] = field(default_factory=dict)

    def __call__(self, coalition: Iterable[int]) -> float:
        key = frozenset(coalition)
        if key not in self.cache:
            if not key <= set(range(self.sources)):
                raise InvalidInput(f"coalition {sorted(key)} names sources outside 0..{self.sources - 1}")
            value = float(self.function(key))
            if value != value or value in (float("inf"), float("-inf")):
                raise InvalidInput(f"utility of {sorted(key)} is not a finite number")
            self.cache[key] = value
        return self.cache[key]

    def table(self, sources: Sequence[str], metric: str) -> UtilityTable:
        """Every coalition evaluated so far, as a table."""
        return UtilityTable(tuple(sources), metric, dict(self.cache))


@dataclass(frozen=True)
class UtilityTable:
    """Measured utilities of coalitions of `sources` (indices into it), with the metric's name."""

    sources: tuple[str, ...]
    metric: str
    values: Mapping[Coalition, float]

    def __call__(self, coalition: Iterable[int]) -> float:
        key = frozenset(coalition)
        if key not in self.values:
            raise InvalidInput(f"the utility table has no entry for coalition {sorted(key)}")
        return self.values[key]

    def to_json(self) -> dict[str, object]:
        """Canonical form: entries sorted by coalition size, then members."""
        ordered = sorted(((sorted(k), v) for k, v in self.values.items()), key=lambda e: (len(e[0]), e[0]))
        entries = [[members, value] for members, value in ordered]
        return {"sources": list(self.sources), "metric": self.metric, "entries": entries}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UtilityTable:
        """Parse `to_json` output."""
        try:
            values = {frozenset(int(i) for i in members): float(v) for members, v in data["entries"]}
            return cls(tuple(str(s) for s in data["sources"]), str(data["metric"]), values)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"not a utility table: {exc}") from exc

    def digest(self) -> bytes:
        """keccak256 of the canonical JSON: the utilityTableHash committed on chain."""
        return keccak(canonical_json(self.to_json()))


def complete_table(function: UtilityFunction, sources: Sequence[str], metric: str) -> UtilityTable:
    """Evaluate every one of the 2^n coalitions (exact Shapley's input; n ≤ 16)."""
    if len(sources) > 16:
        raise InvalidInput(
            f"{len(sources)} sources: a complete table needs 2^{len(sources)} evaluations; sample instead"
        )
    cached = CachedUtility(function, len(sources))
    for mask in range(1 << len(sources)):
        cached(i for i in range(len(sources)) if mask >> i & 1)
    return cached.table(sources, metric)
