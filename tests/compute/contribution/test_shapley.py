"""Shapley values: the axioms on games with known values, Monte Carlo's stated bound, replication robustness."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from compute.contribution import (
    CachedUtility,
    ContributionReport,
    UtilityTable,
    complete_table,
    exact_shapley,
    leave_one_out,
    monte_carlo_shapley,
    robust_shapley,
    to_weights,
)
from compute.errors import InvalidInput
from compute.fl.datasets import load_vertical
from compute.fl.metrics import auc
from compute.fl.models import fit_logistic
from ledger.protocol import contribution_hash


def glove_game(S):  # players 0,1 hold left gloves, 2 a right glove: a pair is worth 1
    S = set(S)
    return float(min(len(S & {0, 1}), len(S & {2})))


def airport_game(costs):  # v(S) = max cost in S; Shapley has a closed form
    return lambda S: max((costs[i] for i in S), default=0.0)


def random_game(n, seed):
    rng = np.random.default_rng(seed)
    values = {frozenset(S): float(rng.random()) for k in range(n + 1) for S in itertools.combinations(range(n), k)}
    values[frozenset()] = 0.0
    return lambda S: values[frozenset(S)]


def test_known_values_of_the_glove_and_airport_games():
    assert exact_shapley(3, glove_game) == pytest.approx([1 / 6, 1 / 6, 2 / 3])
    costs = [1.0, 3.0, 6.0]
    # airport: φ_1 = c1/3, φ_2 = φ_1 + (c2 − c1)/2, φ_3 = φ_2 + (c3 − c2)
    expected = [1 / 3, 1 / 3 + 1.0, 1 / 3 + 1.0 + 3.0]
    assert exact_shapley(3, airport_game(costs)) == pytest.approx(expected)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_efficiency_symmetry_null_player_and_additivity(seed):
    v, w = random_game(5, seed), random_game(5, seed + 10)

    def twin_game(S):  # 0 and 4 symmetric by construction
        S = set(S)
        return float(len(S & {0, 4}) > 0) * 2 + v(S - {0, 4})

    phi_v, phi_w = exact_shapley(5, v), exact_shapley(5, w)
    phi_sum = exact_shapley(5, lambda S: v(S) + w(S))
    null = exact_shapley(6, lambda S: v(set(S) - {5}))
    twins = exact_shapley(5, twin_game)

    assert phi_v.sum() == pytest.approx(v(range(5)) - v([]))
    assert phi_sum == pytest.approx(phi_v + phi_w)
    assert null[5] == pytest.approx(0.0, abs=1e-12) and null[:5] == pytest.approx(phi_v)
    assert twins[0] == pytest.approx(twins[4])


def test_monte_carlo_estimate_is_within_its_stated_bound_of_the_exact_values():
    v = random_game(9, 7)
    exact = exact_shapley(9, v, limit=9)

    estimate = monte_carlo_shapley(9, CachedUtility(v, 9), permutations=400, seed=3)

    assert np.max(np.abs(estimate.values - exact)) <= estimate.error_bound
    assert np.max(np.abs(estimate.values - exact)) < 0.1  # and far inside it in practice


def test_truncation_skips_evaluations_and_widens_the_bound():
    costs = list(np.linspace(0.1, 1.0, 12))
    game = CachedUtility(airport_game(costs), 12)

    plain = monte_carlo_shapley(12, airport_game(costs), permutations=50, seed=1)
    truncated = monte_carlo_shapley(12, airport_game(costs), permutations=50, truncation=0.05, seed=1)

    assert truncated.evaluations < plain.evaluations
    assert truncated.error_bound == pytest.approx(plain.error_bound + 0.05)
    assert game(range(12)) == 1.0


def test_leave_one_out_is_the_drop_from_the_grand_coalition():
    assert leave_one_out(3, glove_game) == pytest.approx([0.0, 0.0, 1.0])


def test_exact_shapley_refuses_more_than_eight_sources():
    with pytest.raises(InvalidInput):
        exact_shapley(9, lambda S: 0.0)


def _with_copy_of_zero(game):
    """The 3-source game with a fourth source (index 3) that is an exact copy of source 0."""

    def copied(S):
        S = set(S)
        if 3 in S:
            S = (S - {3}) | {0}
        return game(S)

    return copied


def test_registering_a_copy_gains_nothing_under_robust_shapley_but_does_under_plain():
    # partial substitutes: 0 and 1 overlap, 2 complements both
    base = {(): 0.0, (0,): 0.6, (1,): 0.5, (2,): 0.2, (0, 1): 0.8, (0, 2): 0.9, (1, 2): 0.8, (0, 1, 2): 1.0}
    game = lambda S: base[tuple(sorted(set(S)))]  # noqa: E731  # a one-line game, read where it is used
    copied = _with_copy_of_zero(game)

    before = robust_shapley(3, game)
    after = robust_shapley(4, copied)
    plain_after = exact_shapley(4, copied)

    assert after.groups == ((0, 3), (1,), (2,))
    assert after.values[0] + after.values[3] == pytest.approx(before.values[0])
    assert after.values[1:3] == pytest.approx(before.values[1:3])
    assert plain_after[0] + plain_after[3] > exact_shapley(3, game)[0] + 0.01  # plain Shapley rewards the copy


def test_a_substitute_copy_earns_its_owner_nothing_extra_when_owners_are_named():
    # a and b are perfect substitutes (either alone gives everything); a's owner registers a copy a'
    def game(S):
        return 1.0 if set(S) & {0, 1, 2} else 0.0

    per_source = robust_shapley(3, game)
    per_owner = robust_shapley(3, game, owners=["A", "B", "A"])

    assert per_source.groups == ((0, 1, 2),)
    assert per_source.values[0] + per_source.values[2] == pytest.approx(2 / 3)  # the copy pays without owners
    assert per_owner.values[0] + per_owner.values[2] == pytest.approx(0.5)
    assert per_owner.values[1] == pytest.approx(0.5)


def test_given_replica_groups_are_used_and_must_partition_the_sources():
    def game(S):
        return float(len(set(S) & {0, 1}) > 0) + 0.5 * (2 in set(S))

    grouped = robust_shapley(3, game, groups=[[2], [0, 1]], owners=["A", "A", "B"])

    assert grouped.groups == ((0, 1), (2,))
    assert grouped.values == pytest.approx([0.5, 0.5, 0.5])
    with pytest.raises(InvalidInput, match="partition"):
        robust_shapley(3, game, groups=[[0, 1]])


def _vertical_auc_utility(blocks, y_train, y_valid):
    def utility(S):
        S = sorted(S)
        if 0 not in S:  # block 0 holds the labels: without it there is no model
            return 0.5
        train = np.hstack([blocks[i][0] for i in S])
        valid = np.hstack([blocks[i][1] for i in S])
        params = fit_logistic(train, y_train, l2=0.05)
        return auc(y_valid, valid @ params[:-1] + params[-1])

    return utility


def test_a_source_of_pure_noise_scores_near_zero():
    data = load_vertical("breast")
    rng = np.random.default_rng(0)
    order = rng.permutation(len(data.y))
    train, valid = order[:400], order[400:]
    noise = rng.normal(size=(len(data.y), 8))
    host = data.hosts[0]
    blocks = [
        (data.guest[train], data.guest[valid]),
        (host[train, :10], host[valid, :10]),
        (host[train, 10:], host[valid, 10:]),
        (noise[train], noise[valid]),
    ]

    scores = exact_shapley(4, CachedUtility(_vertical_auc_utility(blocks, data.y[train], data.y[valid]), 4))

    assert abs(scores[3]) < 0.005
    assert scores[3] < 0.1 * min(scores[:3])


def test_weights_are_non_negative_integers_and_the_hashes_match_the_contract_encoding():
    table = complete_table(glove_game, ["src-a", "src-b", "src-c"], "pairs")
    scores = exact_shapley(3, table)

    report = ContributionReport.build(table, "shapley-exact", scores)

    assert report.weights == (166666, 166666, 666666)
    assert to_weights([-1.0, 0.0]) == [1, 1]
    assert report.contribution_hash == contribution_hash(list(report.weights), table.digest())
    assert UtilityTable.from_json(report.to_json()["utility_table"]).digest() == table.digest()
    assert math.isclose(sum(report.scores), 1.0)


def test_robust_shapley_beyond_eight_sources_samples_and_still_groups_an_exact_copy():
    weights = np.linspace(0.1, 1.0, 10)

    def additive(S):  # source 10 is a copy of source 2
        S = set(S)
        if 10 in S:
            S = (S - {10}) | {2}
        return float(sum(weights[i] for i in S))

    result = robust_shapley(11, additive, tol=1e-9, permutations=30, seed=4)

    assert (2, 10) in result.groups and len(result.groups) == 10
    assert result.values[2] + result.values[10] == pytest.approx(weights[2])
    assert result.values[:2] == pytest.approx(weights[:2]) and result.error_bound > 0
