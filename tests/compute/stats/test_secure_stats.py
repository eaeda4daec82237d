"""Secure statistics: exact on the fixed-point encoding, within its precision of plaintext, private, bounded."""

from __future__ import annotations

import random
import statistics
from fractions import Fraction

import pytest

from compute.errors import EncodingOverflow, InvalidInput, NotAParty
from compute.stats import StatsParams, secure_stats
from compute.stats.fixedpoint import encode
from compute.stats.sharing import MODULUS, add, share, to_signed


@pytest.mark.parametrize("parties", [2, 3, 5])
@pytest.mark.parametrize("seed", [1, 2])
def test_statistics_match_plaintext(make_parties, parties, seed) -> None:
    rng = random.Random(seed)
    group = make_parties(parties)
    columns = {p.address: [rng.uniform(-500, 500) for _ in range(rng.randint(1, 40))] for p in group}
    values = [x for c in columns.values() for x in c]
    params = StatsParams(bins=(-500.0, -100.0, 0.0, 100.0, 500.0))
    result = secure_stats(group, columns, job_id=21, params=params)
    stats = result.value
    encoded = encode(values)
    scale = 1 << params.fraction_bits
    assert stats.count == len(values)
    assert stats.sum == float(Fraction(sum(encoded), scale))  # exact on the encoding
    assert abs(stats.sum - sum(values)) <= len(values) * 2 ** -(params.fraction_bits + 1)
    assert stats.mean == pytest.approx(statistics.fmean(values), abs=2**-params.fraction_bits)
    assert stats.variance == pytest.approx(statistics.pvariance(values), abs=1e-6 * (1 + statistics.pvariance(values)))
    expected_hist = [
        sum(1 for x in values if lo <= x < hi or (hi == 500.0 and x == hi))
        for lo, hi in zip(params.bins, params.bins[1:])
    ]
    assert list(stats.histogram) == expected_hist
    assert [m.rows for m in result.parties] == [len(columns[p.address]) for p in group]


def test_integer_columns_are_exact(make_parties) -> None:
    group = make_parties(3)
    columns = {p.address: list(range(i, i + 10)) for i, p in enumerate(group)}
    stats = secure_stats(group, columns, job_id=22).value
    values = [x for c in columns.values() for x in c]
    assert (stats.sum, stats.mean, stats.variance) == (
        sum(values),
        statistics.fmean(values),
        statistics.pvariance(values),
    )


@pytest.mark.parametrize("parties", [2, 4, 7])
def test_shares_reconstruct_and_any_n_minus_1_look_random(parties) -> None:
    values = [0, 1, -5, MODULUS // 4, 123456789]
    shares = share([v % MODULUS for v in values], parties)
    assert [to_signed(v) for v in add(shares)] == values
    assert all(0 <= s < MODULUS for vec in shares for s in vec)


def test_dp_noise_is_recorded_with_its_epsilon(make_parties) -> None:
    group = make_parties(3)
    columns = {p.address: [1.0] * 20 for p in group}
    result = secure_stats(group, columns, job_id=23, params=StatsParams(epsilon=0.5, clip=(0.0, 10.0)))
    assert result.value.epsilon == 0.5 and result.params["epsilon"] == 0.5
    assert result.params["epsilon_per_statistic"] == 0.125
    with pytest.raises(InvalidInput, match="clip"):
        StatsParams(epsilon=1.0)


def test_values_beyond_the_encoding_are_refused_before_anything_is_sent(make_parties) -> None:
    group = make_parties(2)
    for bad in ([float("nan")], [2.0**41], ["3"]):
        with pytest.raises(InvalidInput, match=group[1].address):
            secure_stats(group, {group[0].address: [1.0], group[1].address: bad}, job_id=24)
    with pytest.raises(EncodingOverflow):
        encode([2.0**41])


def test_receiver_view_holds_only_uniform_shares(make_parties, monkeypatch) -> None:
    from compute import session

    group = make_parties(3)
    columns = {p.address: [float(1000 + i) for i in range(5)] for p in group}
    views = {}
    real = session.run_role

    def keep(channel, role):
        outcome = real(channel, role)
        views[channel.address] = outcome.view
        return outcome

    monkeypatch.setattr(session, "run_role", keep)
    secure_stats(group, columns, job_id=25, record_view=True)
    for viewer in group:
        for sender, _step, payload in views[viewer.address]:
            for x in columns[sender]:
                assert str(x).encode() not in payload and hex(int(x * 65536)).encode() not in payload
                assert hex(int(5 * x * 65536)).encode() not in payload  # nor a local sum


def test_column_of_an_outsider_is_refused(make_parties) -> None:
    a, b, outsider = make_parties(3)
    with pytest.raises(NotAParty):
        secure_stats([a, b], {a.address: [1], b.address: [2], outsider.address: [3]}, job_id=26)
