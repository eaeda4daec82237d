"""compute.dp: the secure samplers draw the distributions they name; the accountant's ε holds exactly and
empirically, and agrees with Google's dp-accounting."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from compute.dp import discrete_gaussian, discrete_laplace, epsilon_from_rho, gaussian_sum_rho

DRAWS = 20_000


def gaussian_pmf(sigma2: float, span: int) -> tuple[np.ndarray, np.ndarray]:
    support = np.arange(-span, span + 1)
    weights = np.exp(-(support.astype(float) ** 2) / (2 * sigma2))
    return support, weights / weights.sum()


def total_variation(draws: list[int], support: np.ndarray, pmf: np.ndarray) -> float:
    counts = np.array([np.count_nonzero(np.asarray(draws) == v) for v in support]) / len(draws)
    outside = 1 - counts.sum()
    return 0.5 * (np.abs(counts - pmf).sum() + outside)


def test_discrete_gaussian_draws_match_its_pmf() -> None:
    support, pmf = gaussian_pmf(9.0, 30)
    draws = [discrete_gaussian(Fraction(9)) for _ in range(DRAWS)]
    assert total_variation(draws, support, pmf) < 0.025  # sampling error alone: mean 0.010, max 0.015 in 200 trials


def test_discrete_laplace_draws_match_its_pmf() -> None:
    support = np.arange(-60, 61)
    pmf = np.exp(-np.abs(support) / 4.0)
    pmf /= pmf.sum()
    draws = [discrete_laplace(Fraction(4)) for _ in range(DRAWS)]
    assert total_variation(draws, support, pmf) < 0.03  # sampling error alone: mean 0.016, max 0.021 in 200 trials


def test_samplers_refuse_non_positive_scales() -> None:
    with pytest.raises(ValueError):
        discrete_laplace(Fraction(0))
    with pytest.raises(ValueError):
        discrete_gaussian(Fraction(-1))


@pytest.mark.parametrize(("z", "count"), [(0.7, 1), (1.0, 20), (2.0, 200)])
def test_epsilon_agrees_with_google_dp_accounting(z, count) -> None:
    from dp_accounting import dp_event, rdp  # the independent reference (test extras)

    accountant = rdp.RdpAccountant()
    accountant.compose(dp_event.SelfComposedDpEvent(dp_event.GaussianDpEvent(z), count))
    ours = epsilon_from_rho(count * gaussian_sum_rho(1.0, z * z, 1, 1), 1e-5)
    assert ours == pytest.approx(accountant.get_epsilon(1e-5), rel=0.01)
    assert ours <= accountant.get_epsilon(1e-5) * 1.0001  # a finer order grid can only tighten it


def exact_delta(epsilon: float, sensitivity: int, sigma2: float, releases: int) -> float:
    """δ(ε) of `releases` discrete Gaussian releases on neighbours 0 and Δ, from the exact PMFs (no accountant)."""
    span = int(12 * math.sqrt(sigma2 * releases)) + sensitivity * releases
    support, pmf = gaussian_pmf(sigma2, span)
    total = pmf
    for _ in range(releases - 1):
        total = np.convolve(total, pmf)
    s = np.arange(len(total)) - releases * span  # the sum of the releases' noise, whose loss is linear in it
    loss = (releases * sensitivity**2 - 2 * s * sensitivity) / (2 * sigma2)  # ln P0(s)/P1(s), P1 shifted by kΔ
    return float(np.sum(total * np.maximum(0.0, 1 - np.exp(np.minimum(epsilon - loss, 50.0)))))


@pytest.mark.parametrize(("sensitivity", "sigma2", "releases"), [(1, 1.0, 1), (2, 9.0, 4), (3, 36.0, 10)])
def test_claimed_epsilon_holds_on_the_exact_privacy_loss(sensitivity, sigma2, releases) -> None:
    delta = 1e-5
    claimed = epsilon_from_rho(releases * gaussian_sum_rho(sensitivity, sigma2, 1, 1), delta)
    assert exact_delta(claimed, sensitivity, sigma2, releases) <= delta
    assert exact_delta(0.5 * claimed, sensitivity, sigma2, releases) > delta  # and the claim is not vacuous


def test_a_distinguisher_on_real_draws_never_beats_the_claimed_epsilon() -> None:
    sensitivity, sigma2, delta = 2, 4.0, 0.01
    claimed = epsilon_from_rho(gaussian_sum_rho(sensitivity, sigma2, 1, 1), delta)
    draws = DRAWS // 2
    without = np.array([discrete_gaussian(Fraction(4)) for _ in range(draws)])
    with_ = sensitivity + np.array([discrete_gaussian(Fraction(4)) for _ in range(draws)])
    best = 0.0
    for threshold in range(-4, 8):  # every "guess: present if output ≥ threshold" test
        fpr, tpr = np.mean(without >= threshold), np.mean(with_ >= threshold)
        for a, b in ((tpr, fpr), (1 - fpr, 1 - tpr)):
            # a lower confidence bound (3 standard errors) on the rate ratio: an empirical ε that is a lower bound
            a_low = a - 3 * math.sqrt(a * (1 - a) / draws)
            b_high = b + 3 * math.sqrt(b * (1 - b) / draws) + 3 / draws
            if a_low - delta > 0:
                best = max(best, math.log((a_low - delta) / b_high))
    assert 0 < best <= claimed
