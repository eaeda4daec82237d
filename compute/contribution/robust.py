"""Replication-robust Shapley: a copy of a source earns its owner nothing extra.

Plain Shapley rewards replication when sources are substitutes: with v({a}) = v({b}) =
v({a,b}) = 1, a and b get ½ each, but if a's owner also registers a copy a', the owner's two
sources get ⅔. Here sources whose marginal contributions are near-identical are grouped as
replicas first: i ~ j when, for every coalition S without either, |v(S∪i) − v(S∪j)| ≤ tol
and |v(S∪{i,j}) − v(S∪i)| ≤ tol (each adds what the other adds, and nothing once the other is
in). The groups (transitive closure of ~) play the game v_G(T) = v(representatives of T), a
representative being a group's first member, and each group's Shapley value is split equally
among its members. An exact copy therefore changes neither its owner's total nor anyone
else's value.

Limits: only replicas within `tol` are caught — a copy perturbed (noise, a subsample, a few
rows changed) enough to move some marginal by more than tol is a distinct source and plain
Shapley applies to it; independent providers whose data are genuinely redundant are grouped
too and split one share, and a copy registered under a second (sybil) owner identity counts as
another owner; `tol` must exceed the utility's evaluation noise; splitting one
data set into disjoint parts is not addressed; beyond EXACT_LIMIT sources the replica test
looks only at `probe_coalitions` sampled coalitions per pair.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from compute.contribution.shapley import EXACT_LIMIT, Utility, exact_shapley, monte_carlo_shapley
from compute.errors import InvalidInput


@dataclass(frozen=True)
class RobustShapley:
    """Per-source values and the replica groups found."""

    values: np.ndarray
    groups: tuple[tuple[int, ...], ...]
    error_bound: float  # 0 when exact


def _coalitions_without(sources: int, i: int, j: int, probes: int, rng: np.random.Generator) -> Iterable[list[int]]:
    others = [k for k in range(sources) if k not in (i, j)]
    if sources <= EXACT_LIMIT:
        for mask in range(1 << len(others)):
            yield [others[b] for b in range(len(others)) if mask >> b & 1]
        return
    yield []
    for _ in range(probes):
        yield [k for k in others if rng.random() < 0.5]


def replica_groups(
    sources: int, utility: Utility, tol: float, probe_coalitions: int = 32, seed: int = 0
) -> list[list[int]]:
    """Sources partitioned into groups of near-identical replicas (singletons when none)."""
    rng = np.random.default_rng(seed)
    parent = list(range(sources))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for i in range(sources):
        for j in range(i + 1, sources):
            if root(i) == root(j):
                continue
            alike = all(
                abs(utility(S + [i]) - utility(S + [j])) <= tol and abs(utility(S + [i, j]) - utility(S + [i])) <= tol
                for S in _coalitions_without(sources, i, j, probe_coalitions, rng)
            )
            if alike:
                parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for k in range(sources):
        groups.setdefault(root(k), []).append(k)
    return sorted(groups.values())


def _split(group: list[int], value: float, owners: Sequence[str] | None) -> dict[int, float]:
    """A group's value: equal parts per distinct owner, then per source of that owner."""
    if owners is None:
        return {k: value / len(group) for k in group}
    distinct = sorted({owners[k] for k in group})
    out = {}
    for owner in distinct:
        mine = [k for k in group if owners[k] == owner]
        out.update({k: value / len(distinct) / len(mine) for k in mine})
    return out


def robust_shapley(
    sources: int,
    utility: Utility,
    *,
    tol: float = 1e-9,
    owners: Sequence[str] | None = None,
    groups: Sequence[Sequence[int]] | None = None,
    permutations: int = 200,
    seed: int = 0,
) -> RobustShapley:
    """Shapley values of replica groups (exact up to EXACT_LIMIT groups), split equally per owner within each group.

    `owners` names each source's owner; without it every source counts as its own owner, so
    an owner holding two sources of one group gets two shares of it. `groups` gives the
    replica groups (a partition of the sources) found by other means, e.g. collinear model
    scores; without it they are found from the utility (`replica_groups`).
    """
    if sources < 1 or tol < 0:
        raise InvalidInput("robust Shapley needs at least one source and tol ≥ 0")
    if owners is not None and len(owners) != sources:
        raise InvalidInput(f"{len(owners)} owners for {sources} sources")
    if groups is None:
        groups = replica_groups(sources, utility, tol, seed=seed)
    elif sorted(k for g in groups for k in g) != list(range(sources)) or not all(groups):
        raise InvalidInput(f"replica groups {groups} are not a partition of sources 0..{sources - 1}")
    groups = sorted(sorted(g) for g in groups)
    representatives = [g[0] for g in groups]

    def group_utility(members: Iterable[int]) -> float:
        return utility([representatives[g] for g in members])

    if len(groups) <= EXACT_LIMIT:
        group_values, bound = exact_shapley(len(groups), group_utility), 0.0
    else:
        estimate = monte_carlo_shapley(len(groups), group_utility, permutations=permutations, seed=seed)
        group_values, bound = estimate.values, estimate.error_bound
    values = np.zeros(sources)
    for group, value in zip(groups, group_values):
        for k, share in _split(group, float(value), owners).items():
            values[k] = share
    return RobustShapley(values, tuple(tuple(g) for g in groups), bound)
