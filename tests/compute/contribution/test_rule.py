"""The weight rule as docs/protocol.md states it, re-implemented from the text alone, against compute's.

If this independent reading and `derive_report` disagree, the document is not precise enough
to re-implement (or the code does not do what it says): attesters in other languages could
not check the weights.
"""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest

from compute.contribution import UtilityTable, contribution_problems, derive_report


def documented_weights(n: int, v: dict[frozenset[int], float], owners: list[str], tol: float) -> list[int]:
    """docs/protocol.md, "Contribution weights", steps 1 to 3, read literally."""
    if n > 8:
        phi = [v[frozenset(range(n))] - v[frozenset(range(n)) - {i}] for i in range(n)]
    else:
        group = list(range(n))  # union-find parent

        def find(k: int) -> int:
            while group[k] != k:
                k = group[k]
            return k

        for i in range(n):
            for j in range(i + 1, n):
                if find(i) == find(j):
                    continue
                others = [k for k in range(n) if k not in (i, j)]
                coalitions = [frozenset(c) for r in range(len(others) + 1) for c in combinations(others, r)]
                if all(
                    abs(v[s | {i}] - v[s | {j}]) <= tol and abs(v[s | {i, j}] - v[s | {i}]) <= tol for s in coalitions
                ):
                    group[find(j)] = find(i)
        groups = sorted(sorted(k for k in range(n) if find(k) == r) for r in {find(k) for k in range(n)})
        g = len(groups)

        def v_groups(t: tuple[int, ...]) -> float:
            return v[frozenset(groups[x][0] for x in t)]

        phi = [0.0] * n
        for x in range(g):
            rest = [y for y in range(g) if y != x]
            value = sum(
                math.factorial(len(t))
                * math.factorial(g - len(t) - 1)
                / math.factorial(g)
                * (v_groups((*t, x)) - v_groups(t))
                for r in range(len(rest) + 1)
                for t in combinations(rest, r)
            )
            distinct = sorted({owners[k].lower() for k in groups[x]})
            for owner in distinct:
                mine = [k for k in groups[x] if owners[k].lower() == owner]
                for k in mine:
                    phi[k] = value / len(distinct) / len(mine)
    positive = [max(p, 0.0) for p in phi]
    if sum(positive) <= 0:
        return [1] * n
    weights = [math.floor(p / sum(positive) * 10**6 + 1e-6) for p in positive]
    if sum(weights) == 0:
        weights[positive.index(max(positive))] = 1
    return weights


def _random_table(n: int, seed: int, copy_of: dict[int, int] | None = None) -> dict[frozenset[int], float]:
    """A monotone-ish random utility; `copy_of` maps a source to the one it exactly replicates."""
    rng = np.random.default_rng(seed)
    worth = rng.uniform(0, 0.1, size=n)
    synergy = rng.uniform(-0.02, 0.02)
    copy_of = copy_of or {}
    table = {}
    for r in range(n + 1):
        for c in combinations(range(n), r):
            held = {copy_of.get(k, k) for k in c}
            table[frozenset(c)] = 0.5 + float(sum(worth[k] for k in held)) + synergy * (len(held) > 1)
    return table


CASES = [
    (2, 0, None, ["a", "b"]),
    (3, 1, None, ["a", "b", "c"]),
    (4, 2, {3: 1}, ["a", "b", "c", "d"]),  # source 3 is an exact copy of source 1, another owner
    (4, 3, {3: 1}, ["a", "b", "c", "b"]),  # ... the same owner: the copy earns the owner nothing extra
    (5, 4, {4: 0, 3: 2}, ["a", "b", "c", "d", "e"]),
    (9, 5, None, [f"o{k}" for k in range(9)]),  # beyond 8 sources: leave-one-out
]


@pytest.mark.parametrize(("n", "seed", "copies", "owners"), CASES)
def test_the_documented_rule_and_the_code_give_the_same_weights(n, seed, copies, owners) -> None:
    values = _random_table(n, seed, copies)
    table = UtilityTable(tuple(f"s{k}" for k in range(n)), "auc", values)

    report = derive_report(table, owners)

    assert list(report.weights) == documented_weights(n, values, owners, 1e-9)
    assert contribution_problems(report.to_json()) == []


def test_a_table_where_nobody_helps_splits_equally() -> None:
    values = {frozenset(c): 0.5 for r in range(4) for c in combinations(range(3), r)}

    report = derive_report(UtilityTable(("a", "b", "c"), "auc", values), ["a", "b", "c"])

    assert list(report.weights) == [1, 1, 1] == documented_weights(3, values, ["a", "b", "c"], 1e-9)
